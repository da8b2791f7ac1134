package dev.sluice.provider.sim;

import java.util.random.RandomGenerator;

/**
 * A latency distribution: log-normal from a median and a 99th percentile, with an optional heavy
 * tail (a share of samples multiplied by a factor) to model providers that are sometimes much slower.
 */
public record LatencyDistribution(long medianNanos, long p99Nanos, double tailProbability, double tailMultiplier) {
  private static final double Z99 = 2.3263478740408408;

  public static LatencyDistribution fixed(long nanos) {
    return new LatencyDistribution(nanos, nanos, 0, 1);
  }

  public long sample(RandomGenerator rnd) {
    double v = medianNanos;
    if (p99Nanos > medianNanos && medianNanos > 0) {
      double sigma = Math.log((double) p99Nanos / medianNanos) / Z99;
      v = medianNanos * Math.exp(sigma * rnd.nextGaussian());
    }
    if (tailProbability > 0 && rnd.nextDouble() < tailProbability) {
      v *= tailMultiplier;
    }
    return Math.max(0, (long) v);
  }
}
