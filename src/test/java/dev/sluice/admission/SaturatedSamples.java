package dev.sluice.admission;

import java.util.function.IntToLongFunction;

/** Feeds a limiter latency samples the way a saturated deployment would, on a fake clock. */
final class SaturatedSamples {
  private SaturatedSamples() {
  }

  /**
   * {@code count} samples, {@code stepNanos} of fake time apart: before each, every slot the limit
   * allows is taken; then one comes back with sample {@code i}'s latency and the rest come back
   * without a sample, so the limiter sees each sample with its limit full.
   */
  static void feed(ConcurrencyLimiter l, long[] clock, long stepNanos, int count, IntToLongFunction rttNanos) {
    for (int i = 0; i < count; i++) {
      int held = 0;
      while (l.tryAcquire()) {
        held++;
      }
      clock[0] += stepNanos;
      l.release(clock[0], rttNanos.applyAsLong(i), false, 0);
      for (int h = 1; h < held; h++) {
        l.releaseQuietly(clock[0], -1, false, 0);
      }
    }
  }
}
