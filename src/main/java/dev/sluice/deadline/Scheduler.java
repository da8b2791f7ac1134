package dev.sluice.deadline;

/**
 * One-shot timers. Production uses the event loop's timers; tests use {@code ManualScheduler}
 * with a fake clock so that time-based behaviour is checked without waiting.
 */
public interface Scheduler {
  /** Runs {@code task} once after {@code delayNanos}; returns a handle for {@link #cancel}. */
  long schedule(long delayNanos, Runnable task);

  /** Cancels a pending timer; returns false when it already ran or was cancelled. */
  boolean cancel(long handle);
}
