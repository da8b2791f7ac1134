package dev.sluice.resilience;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Exponential backoff with full jitter: before the n-th retry of the same deployment, wait a
 * uniformly random time in {@code [0, min(max, base * 2^(n-1))]}. Full jitter spreads the retries of
 * many clients that failed together, so they do not come back together.
 */
public final class Backoff {
  private final long baseNanos;
  private final long maxNanos;
  private final RandomGenerator random;

  public Backoff(Duration base, Duration max, RandomGenerator random) {
    this.baseNanos = base.toNanos();
    this.maxNanos = max.toNanos();
    this.random = random;
  }

  /** The ceiling before the {@code retry}-th retry (1-based). */
  public long ceilingNanos(int retry) {
    int shift = Math.min(Math.max(0, retry - 1), 30);
    // compare before shifting: a shifted base can wrap to any value, even 0, not only a negative one
    return baseNanos > (maxNanos >> shift) ? maxNanos : baseNanos << shift;
  }

  public long delayNanos(int retry) {
    long c = ceilingNanos(retry);
    return c <= 0 ? 0 : random.nextLong(c + 1);
  }
}
