package dev.sluice.admission;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one admitted request holds at the gateway level: its place under the global cap and, with a
 * key, its place under the key's concurrency and its token estimate. Released exactly once, when the
 * request ends, whichever way it ends.
 */
public final class Ticket {
  private final AtomicInteger global;
  private final AtomicBoolean released = new AtomicBoolean();
  private KeyLimits key;
  private boolean keyAdmitted;
  private long estimatedTokens;
  private Priority priority = Priority.NORMAL;

  Ticket(AtomicInteger global) {
    this.global = global;
  }

  /** The caller is this key (not yet admitted under its limits). */
  void identify(KeyLimits k) {
    this.key = k;
  }

  /** The key's limits admitted the request: its concurrency and token estimate are now held. */
  void admitted(long estimate) {
    this.keyAdmitted = true;
    this.estimatedTokens = estimate;
  }

  void priority(Priority p) {
    this.priority = p;
  }

  public Priority priority() {
    return priority;
  }

  public ApiKey apiKey() {
    return key == null ? null : key.key();
  }

  public KeyLimits keyLimits() {
    return key;
  }

  /** The gateway refused the request after the key admitted it: its request per minute is given back. */
  public void refundRequest() {
    if (key != null && keyAdmitted && !released.get()) {
      key.refundRequest();
    }
  }

  /** Gives everything back; later calls do nothing. */
  public void release(long actualTokens) {
    if (!released.compareAndSet(false, true)) {
      return;
    }
    global.decrementAndGet();
    if (key != null && keyAdmitted) {
      key.reconcile(estimatedTokens, actualTokens);
      key.release();
    }
  }

  public boolean released() {
    return released.get();
  }
}
