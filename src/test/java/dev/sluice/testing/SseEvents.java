package dev.sluice.testing;

import static org.awaitility.Awaitility.await;

import dev.sluice.server.Gateway;
import dev.sluice.telemetry.RequestRecord;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/** Reads a server-sent event stream as a client sees it, and finds the gateway's record of a request. */
public final class SseEvents {
  private SseEvents() {}

  /** The data payloads of every event, in order (comments and event names dropped). */
  public static List<String> data(String body) {
    List<String> out = new ArrayList<>();
    for (String event : body.replace("\r\n", "\n").split("\n\n")) {
      StringBuilder data = null;
      for (String line : event.split("\n")) {
        if (line.startsWith("data:")) {
          String v = line.substring(line.startsWith("data: ") ? 6 : 5);
          data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
        }
      }
      if (data != null) {
        out.add(data.toString());
      }
    }
    return out;
  }

  /**
   * The events a spec-following client dispatches: lines end at CRLF, LF or CR, data lines are
   * joined by LF, an event is dispatched at a blank line, and an unterminated event at the end of
   * the body is discarded. Stricter than {@link #data}: a cut or merged event shows here.
   */
  public static List<String> dispatched(String body) {
    List<String> out = new ArrayList<>();
    StringBuilder data = null;
    for (String line : body.split("\r\n|\n|\r", -1)) {
      if (line.isEmpty()) {
        if (data != null) {
          out.add(data.toString());
        }
        data = null;
      } else if (line.startsWith("data:")) {
        String v = line.substring(5);
        if (v.startsWith(" ")) {
          v = v.substring(1);
        }
        data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
      }
    }
    return out;
  }

  /** The last event's data, or null for an empty stream. */
  public static String last(String body) {
    List<String> d = data(body);
    return d.isEmpty() ? null : d.get(d.size() - 1);
  }

  /** The {@code error} object of the last event, or null when the last event is not an error. */
  public static JsonObject lastError(String body) {
    String last = last(body);
    if (last == null || !last.startsWith("{")) {
      return null;
    }
    return new JsonObject(last).getJsonObject("error");
  }

  /** The text a chat stream carried (its content deltas, concatenated). */
  public static String chatText(String body) {
    StringBuilder sb = new StringBuilder();
    for (String d : data(body)) {
      if (!d.startsWith("{")) {
        continue;
      }
      JsonObject o = new JsonObject(d);
      var choices = o.getJsonArray("choices");
      if (choices == null) {
        continue;
      }
      for (int i = 0; i < choices.size(); i++) {
        JsonObject delta = choices.getJsonObject(i).getJsonObject("delta");
        if (delta != null && delta.getString("content") != null) {
          sb.append(delta.getString("content"));
        }
      }
    }
    return sb.toString();
  }

  /** Waits for the gateway's record of request {@code id} (records are written as a request ends). */
  public static RequestRecord record(Gateway gateway, String id) {
    AtomicReference<RequestRecord> found = new AtomicReference<>();
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10)).until(() -> {
      for (RequestRecord r : gateway.recent().latest(1024)) {
        if (r != null && r.id().equals(id)) {
          found.set(r);
          return true;
        }
      }
      return false;
    });
    return found.get();
  }
}
