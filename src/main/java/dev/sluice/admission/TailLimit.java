package dev.sluice.admission;

import com.netflix.concurrency.limits.limit.AbstractLimit;

/**
 * A concurrency limit that guards the latency tail: additive increase, multiplicative decrease,
 * driven by each window's high-percentile latency (fed by a {@code WindowedLimit} with a percentile
 * sample window) against the best such tail seen.
 *
 * <p>Gradient and Vegas watch the average latency. A provider that serves a fixed number of answers
 * at once makes the few requests beyond it wait for a whole answer to end, which barely moves the
 * average but is the p99; and Vegas's smallest visible queue is one request, so it settles with one
 * or two always waiting. This limit instead:
 * <ul>
 *   <li>comes down by a tenth ({@link #BACKOFF}) when a window's tail is more than {@code tolerance} times the
 *       baseline, or a request failed from overload;
 *   <li>otherwise, grows by one slot after {@link #WINDOWS_PER_SLOT} windows in a row that kept the
 *       limit full, so it probes above the provider's capacity seldom and briefly;
 *   <li>keeps as baseline the lowest window tail seen, allowed to creep up by {@link #CREEP} per window
 *       toward what the windows show, so a provider that became slower for good is re-learned
 *       (ln(tolerance) / ln(1.005) windows: ~53 s at 1.3, ~139 s at 2.0) instead of pinning the limit
 *       to its floor. Windows with an overload failure do not move the baseline: a second of
 *       instant 429s would otherwise teach it a tail of a few milliseconds.
 * </ul>
 * A window's p99 is what the library's percentile window reports; with few samples (a window needs
 * ten) that is its largest, which reads lower than a busy window's p99 of the same latencies, so a
 * baseline learned at very low traffic is on the strict side. Deterministic: it holds no clock, only
 * the samples' own times through the window.
 */
public final class TailLimit extends AbstractLimit {
  /** Factor the limit is multiplied by on a slow or failing window. */
  static final double BACKOFF = 0.9;
  /** Good windows that kept the limit full, for each slot added. */
  static final int WINDOWS_PER_SLOT = 3;
  /** How much the baseline may rise per window toward a slower tail. */
  static final double CREEP = 0.005;

  private final int min;
  private final int max;
  private final double tolerance;
  private double estimate;
  private double baseline = Double.NaN;
  private int goodWindows;

  public TailLimit(int initial, int min, int max, double tolerance) {
    super(initial);
    if (tolerance <= 1) {
      throw new IllegalArgumentException("tolerance must be above 1, got " + tolerance);
    }
    this.min = min;
    this.max = max;
    this.tolerance = tolerance;
    this.estimate = initial;
  }

  @Override
  protected int _update(long startTime, long tailNanos, int maxInFlight, boolean didDrop) {
    if (Double.isNaN(baseline) && !didDrop) {
      baseline = tailNanos; // the first window without overload failures; one with them only cuts
    }
    if (didDrop || tailNanos > baseline * tolerance) {
      estimate = Math.max(min, estimate * BACKOFF);
      goodWindows = 0;
    } else if (maxInFlight < (int) estimate) {
      goodWindows = 0; // not a test of the limit: the next slot waits for three full windows in a row
    } else if (++goodWindows >= WINDOWS_PER_SLOT) {
      estimate = Math.min(max, estimate + 1);
      goodWindows = 0;
    }
    if (!didDrop) {
      baseline = Math.min(tailNanos, baseline * (1 + CREEP));
    }
    return (int) estimate;
  }

  /** The tail latency the limit currently compares windows with (nanoseconds), for tests and status. */
  public double baselineNanos() {
    return baseline;
  }
}
