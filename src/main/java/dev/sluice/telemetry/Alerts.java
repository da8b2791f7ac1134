package dev.sluice.telemetry;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Observations about the gateway, with a severity and a category, raised by rules (the auditor)
 * and acknowledged by operators. An alert stays open while its condition holds; the same condition
 * does not raise a second one until the first is resolved, but a graver severity escalates it, and an
 * escalated alert must be acknowledged again.
 */
public final class Alerts {
  public enum Severity { INFO, WARNING, CRITICAL }

  private static final int KEEP = 500;

  private final Deque<JsonObject> alerts = new ArrayDeque<>();
  private final Map<String, JsonObject> open = new HashMap<>();
  /**
   * Ids are not reused by a restarted gateway (a page still showing the old process's alerts would
   * acknowledge a different one): they start from the wall clock, in microseconds, well within the
   * integers JavaScript holds exactly.
   */
  private final AtomicLong ids = new AtomicLong(System.currentTimeMillis() * 1000);
  private volatile Consumer<JsonObject> listener = a -> { };

  public void onChange(Consumer<JsonObject> l) {
    this.listener = l;
  }

  /** Raises (or keeps open) the alert for {@code key}. */
  public synchronized void raise(String key, Severity severity, String category, String subject, String message,
      long epochMillis) {
    JsonObject a = open.get(key);
    if (a != null) {
      if (severity.ordinal() > Severity.valueOf(a.getString("severity").toUpperCase(java.util.Locale.ROOT)).ordinal()) {
        // acknowledged as a warning is not acknowledged as critical: the operator is asked again
        a.put("severity", severity.name().toLowerCase(java.util.Locale.ROOT)).put("message", message)
            .put("acknowledged", false);
        listener.accept(a.copy());
      }
      return;
    }
    a = new JsonObject()
        .put("id", ids.incrementAndGet())
        .put("key", key)
        .put("severity", severity.name().toLowerCase(java.util.Locale.ROOT))
        .put("category", category)
        .put("subject", subject)
        .put("message", message)
        .put("raised_at", epochMillis)
        .putNull("resolved_at")
        .put("acknowledged", false);
    open.put(key, a);
    alerts.addFirst(a);
    while (alerts.size() > KEEP) {
      JsonObject old = alerts.removeLast();
      open.remove(old.getString("key"), old);
    }
    listener.accept(a.copy());
  }

  /** The condition behind {@code key} no longer holds. */
  public synchronized void resolve(String key, long epochMillis) {
    JsonObject a = open.remove(key);
    if (a != null) {
      a.put("resolved_at", epochMillis);
      listener.accept(a.copy());
    }
  }

  public synchronized boolean acknowledge(long id) {
    for (JsonObject a : alerts) {
      if (a.getLong("id") == id) {
        a.put("acknowledged", true);
        listener.accept(a.copy());
        return true;
      }
    }
    return false;
  }

  /** Newest first, filtered by severity and category when given. */
  public synchronized JsonArray list(String severity, String category, Boolean acknowledged) {
    JsonArray out = new JsonArray();
    for (JsonObject a : alerts) {
      if ((severity == null || severity.equals(a.getString("severity")))
          && (category == null || category.equals(a.getString("category")))
          && (acknowledged == null || acknowledged == a.getBoolean("acknowledged"))) {
        out.add(a.copy());
      }
    }
    return out;
  }

  /** The id of the oldest alert still kept (older ones were let go, newest first, past 500); -1 with none. */
  public synchronized long oldestId() {
    return alerts.isEmpty() ? -1 : alerts.getLast().getLong("id");
  }

  /**
   * Runs {@code r} while no alert can change. Change listeners are called under the same lock, so
   * what {@code r} reads of the alerts and sends on is in order with the changes they send.
   */
  public synchronized void whileUnchanged(Runnable r) {
    r.run();
  }

  public synchronized boolean isOpen(String key) {
    return open.containsKey(key);
  }
}
