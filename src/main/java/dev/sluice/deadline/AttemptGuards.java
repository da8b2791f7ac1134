package dev.sluice.deadline;

import dev.sluice.config.Timeouts;
import java.util.function.LongSupplier;

/**
 * The four guards of one attempt (DESIGN.md 2.2) as a small state machine over one timer: the
 * phase guard (connect, then first byte or first token, then idle between chunks) and the total
 * share it, and it is armed for whichever is due first. A guard that would fire at or after the
 * request's deadline is not armed at all: the request's own deadline timer fires first and names
 * the right cause; a phase guard due at or after the total leaves the total to name it.
 *
 * <p>The timer is lazy. A phase change or a chunk only records what is due; the timer is moved only
 * when something became due earlier than it is set for. When it fires early (the phase moved on, or
 * a chunk arrived since), it re-arms for what is due now. So a request that ends in its first phase
 * arms one timer, not one per phase and one for the total, and a stream arms one per idle window,
 * not one per chunk.
 *
 * <p>Not thread-safe: an attempt lives on one event loop.
 */
public final class AttemptGuards {
  /** Told once, when a guard fires. */
  public interface Listener {
    void onExpired(Guard guard, long limitNanos);
  }

  private static final long NEVER = Long.MAX_VALUE;

  private final Scheduler scheduler;
  private final LongSupplier clock;
  private final Timeouts timeouts;
  private final Deadline deadline;
  private final boolean stream;
  private final Listener listener;
  private final Runnable onTimer = this::timerFired;

  private long startNanos;
  private long totalNanos;
  private long totalAtNanos = NEVER;
  private Guard phase;
  private long phaseLimitNanos;
  /** When the phase's limit is counted from: the attempt's start, or the last chunk for idle. */
  private long phaseFromNanos;
  private long timer = -1;
  private long timerAtNanos = NEVER;
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
    totalNanos = timeouts.totalFor(stream).toNanos();
    long totalAt = saturatedAdd(startNanos, totalNanos);
    if (totalAt < deadline.atNanos()) {
      totalAtNanos = totalAt;
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
    if (phase == Guard.IDLE) {
      phaseFromNanos = clock.getAsLong();
    }
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
    if (!done && phase == Guard.IDLE) {
      phaseFromNanos = clock.getAsLong();
      armBy(nextDue());
    }
  }

  /** The attempt ended (any way): disarm everything. Idempotent. */
  public void stop() {
    done = true;
    if (timer != -1) {
      scheduler.cancel(timer);
      timer = -1;
      timerAtNanos = NEVER;
    }
  }

  public Guard phase() {
    return phase;
  }

  public boolean armed() {
    return timer != -1;
  }

  private void enterIdle() {
    enter(Guard.IDLE, timeouts.idle().toNanos(), clock.getAsLong());
  }

  private void enter(Guard guard, long limitNanos, long fromNanos) {
    phase = guard;
    phaseLimitNanos = limitNanos;
    phaseFromNanos = fromNanos;
    armBy(nextDue());
  }

  /** When the phase guard is due; NEVER while idle is paused or when an outer timer fires first. */
  private long phaseDue() {
    if (phase == Guard.IDLE && idlePaused) {
      return NEVER;
    }
    long due = saturatedAdd(phaseFromNanos, phaseLimitNanos);
    return due >= deadline.atNanos() || due >= totalAtNanos ? NEVER : due;
  }

  private long nextDue() {
    return Math.min(phaseDue(), totalAtNanos);
  }

  /** Makes sure the timer fires no later than {@code due}; a timer set earlier is left to re-arm when it fires. */
  private void armBy(long due) {
    if (due == NEVER || due >= timerAtNanos) {
      return;
    }
    if (timer != -1) {
      scheduler.cancel(timer);
    }
    timerAtNanos = due;
    timer = scheduler.schedule(Math.max(0, due - clock.getAsLong()), onTimer);
  }

  private void timerFired() {
    timer = -1;
    timerAtNanos = NEVER;
    if (done) {
      return;
    }
    long now = clock.getAsLong();
    long phaseDue = phaseDue();
    if (now >= phaseDue) {
      fire(phase, phaseLimitNanos);
    } else if (now >= totalAtNanos) {
      fire(Guard.TOTAL, totalNanos);
    } else {
      armBy(nextDue());
    }
  }

  private void fire(Guard guard, long limitNanos) {
    stop();
    listener.onExpired(guard, limitNanos);
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
  }
}
