package dev.sluice.deadline;

import dev.sluice.config.Timeouts;
import java.util.function.LongSupplier;

/**
 * The four guards of one attempt (DESIGN.md 2.2) as a small state machine over at most two timers:
 * a phase timer (connect, then first byte or first token, then idle between chunks) and a total
 * timer. A guard that would fire at or after the request's deadline is not armed at all: the
 * request's own deadline timer fires first and names the right cause.
 *
 * <p>The idle guard is lazy: a chunk only records the time, and when the timer fires it re-arms for
 * the remainder if a chunk arrived meanwhile. One timer per idle window instead of one per chunk.
 *
 * <p>Not thread-safe: an attempt lives on one event loop.
 */
public final class AttemptGuards {
  /** Told once, when a guard fires. */
  public interface Listener {
    void onExpired(Guard guard, long limitNanos);
  }

  private final Scheduler scheduler;
  private final LongSupplier clock;
  private final Timeouts timeouts;
  private final Deadline deadline;
  private final boolean stream;
  private final Listener listener;

  private long startNanos;
  private long totalAtNanos = Long.MAX_VALUE;
  private Guard phase;
  private long phaseLimitNanos;
  private long lastActivityNanos;
  private long phaseTimer = -1;
  private long totalTimer = -1;
  private boolean done;
  private boolean idlePaused;

  public AttemptGuards(Scheduler scheduler, Timeouts timeouts, Deadline deadline, boolean stream, Listener listener) {
    this.scheduler = scheduler;
    this.clock = deadline.clock();
    this.timeouts = timeouts;
    this.deadline = deadline;
    this.stream = stream;
    this.listener = listener;
  }

  public void start() {
    startNanos = clock.getAsLong();
    long total = timeouts.totalFor(stream).toNanos();
    long totalAt = saturatedAdd(startNanos, total);
    if (totalAt < deadline.atNanos()) {
      totalAtNanos = totalAt;
      totalTimer = scheduler.schedule(total, () -> {
        totalTimer = -1;
        fire(Guard.TOTAL, total);
      });
    }
    enter(Guard.CONNECT, timeouts.connect().toNanos(), startNanos);
  }

  /** A connection is ready and the request is being sent. */
  public void connected() {
    if (!done && phase == Guard.CONNECT) {
      Guard g = stream ? Guard.FIRST_TOKEN : Guard.FIRST_BYTE;
      enter(g, timeouts.firstByteFor(stream).toNanos(), startNanos);
    }
  }

  /** Response headers arrived. For a stream the first token is still awaited. */
  public void headers() {
    if (!done && !stream && (phase == Guard.FIRST_BYTE || phase == Guard.CONNECT)) {
      enterIdle();
    }
  }

  /** The first token of a stream arrived. */
  public void firstToken() {
    if (!done && phase != Guard.IDLE) {
      enterIdle();
    }
  }

  /** A chunk arrived. */
  public void activity() {
    lastActivityNanos = clock.getAsLong();
  }

  /**
   * The gateway stopped reading because the client is slow: silence now is not the provider's
   * fault, so the idle guard waits until {@link #resumeIdle}.
   */
  public void pauseIdle() {
    idlePaused = true;
  }

  public void resumeIdle() {
    idlePaused = false;
    lastActivityNanos = clock.getAsLong();
  }

  /** The attempt ended (any way): disarm everything. Idempotent. */
  public void stop() {
    done = true;
    cancelPhase();
    if (totalTimer != -1) {
      scheduler.cancel(totalTimer);
      totalTimer = -1;
    }
  }

  public Guard phase() {
    return phase;
  }

  public boolean armed() {
    return phaseTimer != -1 || totalTimer != -1;
  }

  private void enterIdle() {
    lastActivityNanos = clock.getAsLong();
    enter(Guard.IDLE, timeouts.idle().toNanos(), lastActivityNanos);
  }

  private void enter(Guard guard, long limitNanos, long fromNanos) {
    cancelPhase();
    phase = guard;
    phaseLimitNanos = limitNanos;
    arm(saturatedAdd(fromNanos, limitNanos));
  }

  private void arm(long atNanos) {
    if (atNanos >= deadline.atNanos() || atNanos >= totalAtNanos) {
      return; // an outer timer fires first
    }
    long delay = Math.max(0, atNanos - clock.getAsLong());
    phaseTimer = scheduler.schedule(delay, this::phaseFired);
  }

  private void phaseFired() {
    phaseTimer = -1;
    if (done) {
      return;
    }
    if (phase == Guard.IDLE) {
      if (idlePaused) {
        arm(saturatedAdd(clock.getAsLong(), phaseLimitNanos));
        return;
      }
      long due = saturatedAdd(lastActivityNanos, phaseLimitNanos);
      if (clock.getAsLong() < due) {
        arm(due);
        return;
      }
    }
    fire(phase, phaseLimitNanos);
  }

  private void fire(Guard guard, long limitNanos) {
    if (done) {
      return;
    }
    stop();
    listener.onExpired(guard, limitNanos);
  }

  private void cancelPhase() {
    if (phaseTimer != -1) {
      scheduler.cancel(phaseTimer);
      phaseTimer = -1;
    }
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
  }
}
