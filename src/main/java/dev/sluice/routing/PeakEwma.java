package dev.sluice.routing;

import java.util.function.LongSupplier;

/**
 * A latency estimate that reacts to a slow response at once and forgets it gradually: a new sample
 * above the estimate replaces it (the peak); otherwise the estimate moves toward the sample with a
 * weight that decays with the time since the last sample (time constant {@code tau}); without
 * samples it fades toward zero with the same time constant. Used by
 * power-of-two-choices routing, multiplied by the attempts in flight.
 */
public final class PeakEwma {
  private final long tauNanos;
  private final LongSupplier clock;
  private double estimate;
  private long lastNanos;

  public PeakEwma(long tauNanos, long initialNanos, LongSupplier clock) {
    this.tauNanos = tauNanos;
    this.clock = clock;
    this.estimate = initialNanos;
    this.lastNanos = clock.getAsLong();
  }

  public synchronized void record(long sampleNanos) {
    long now = clock.getAsLong();
    if (sampleNanos > estimate) {
      estimate = sampleNanos;
    } else {
      double w = Math.exp(-(double) Math.max(0, now - lastNanos) / tauNanos);
      estimate = estimate * w + sampleNanos * (1 - w);
    }
    lastNanos = now;
  }

  /**
   * The estimate as of now: it fades toward zero with the time since the last sample, so that a
   * deployment that lost every choice after one slow answer (and so gets no samples) is tried
   * again once that answer is old, instead of staying the costliest for ever.
   */
  public synchronized double estimateNanos() {
    return estimate * Math.exp(-(double) Math.max(0, clock.getAsLong() - lastNanos) / tauNanos);
  }

  /** The routing cost: expected latency scaled by the work already waiting on this deployment. */
  public double cost(int inFlight) {
    return estimateNanos() * (inFlight + 1);
  }
}
