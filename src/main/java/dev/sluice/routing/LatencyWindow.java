package dev.sluice.routing;

import java.util.Arrays;

/**
 * The most recent latency observations of a deployment (a fixed ring), with quantiles on demand.
 * Quantiles are recomputed at most once per {@code recomputeEvery} new samples, so reading them
 * on every request costs a field read.
 */
public final class LatencyWindow {
  private final long[] ring;
  private final int recomputeEvery;
  private long count;
  private long sinceRecompute = Long.MAX_VALUE / 2;
  private long[] sorted = new long[0];

  public LatencyWindow(int capacity, int recomputeEvery) {
    this.ring = new long[capacity];
    this.recomputeEvery = Math.max(1, recomputeEvery);
  }

  public LatencyWindow() {
    this(256, 16);
  }

  public synchronized void record(long nanos) {
    ring[(int) (count % ring.length)] = nanos;
    count++;
    sinceRecompute++;
  }

  /** Samples currently in the window. */
  public synchronized int size() {
    return (int) Math.min(count, ring.length);
  }

  /** The q-quantile (0..1) of the window, or -1 when empty. */
  public synchronized long quantile(double q) {
    int n = size();
    if (n == 0) {
      return -1;
    }
    if (sinceRecompute >= recomputeEvery || sorted.length != n) {
      sorted = Arrays.copyOf(ring, n);
      Arrays.sort(sorted);
      sinceRecompute = 0;
    }
    int idx = (int) Math.ceil(q * n) - 1;
    return sorted[Math.max(0, Math.min(n - 1, idx))];
  }
}
