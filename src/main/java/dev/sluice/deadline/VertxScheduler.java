package dev.sluice.deadline;

import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Event-loop timers, counted: the number of armed timers is visible so that tests can prove every
 * timer of a request was fired or cancelled.
 */
public final class VertxScheduler implements Scheduler {
  private final Vertx vertx;
  private final LongAdder armed;

  public VertxScheduler(Vertx vertx, LongAdder armed) {
    this.vertx = vertx;
    this.armed = armed;
  }

  @Override
  public long schedule(long delayNanos, Runnable task) {
    long ms = Math.max(1, TimeUnit.NANOSECONDS.toMillis(delayNanos + 999_999));
    armed.increment();
    return vertx.setTimer(ms, id -> {
      armed.decrement();
      task.run();
    });
  }

  @Override
  public boolean cancel(long handle) {
    boolean cancelled = vertx.cancelTimer(handle);
    if (cancelled) {
      armed.decrement();
    }
    return cancelled;
  }
}
