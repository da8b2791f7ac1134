package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static final long MS = 1_000_000L;

  private static Backoff backoff(long seed) {
    return new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2), new SplittableRandom(seed));
  }

  @Test
  void ceilingDoublesFromTheBaseUntilTheMax() {
    Backoff b = backoff(1);
    assertThat(b.ceilingNanos(1)).isEqualTo(100 * MS);
    assertThat(b.ceilingNanos(2)).isEqualTo(200 * MS);
    assertThat(b.ceilingNanos(3)).isEqualTo(400 * MS);
    assertThat(b.ceilingNanos(4)).isEqualTo(800 * MS);
    assertThat(b.ceilingNanos(5)).isEqualTo(1600 * MS);
    assertThat(b.ceilingNanos(6)).isEqualTo(2000 * MS);
    assertThat(b.ceilingNanos(7)).isEqualTo(2000 * MS);
  }

  @Test
  void ceilingNeverOverflowsPastTheMax() {
    Backoff b = backoff(1);
    for (int retry : new int[] {20, 31, 32, 63, 64, 65, 1000, Integer.MAX_VALUE}) {
      assertThat(b.ceilingNanos(retry)).as("retry %d", retry).isEqualTo(2000 * MS);
    }
    // a long base: shifting it must not wrap around to a small or negative ceiling
    Backoff big = new Backoff(Duration.ofHours(1), Duration.ofHours(2), new SplittableRandom(1));
    long previous = 0;
    for (int retry = 1; retry <= 100; retry++) {
      long c = big.ceilingNanos(retry);
      assertThat(c).as("retry %d", retry).isBetween(previous, Duration.ofHours(2).toNanos());
      previous = c;
    }
    // a base that is a power of two in nanoseconds: 2^34 << 30 is 2^64, which wraps to exactly 0
    Duration pow2 = Duration.ofNanos(1L << 34);
    Backoff wrap = new Backoff(pow2, pow2.multipliedBy(4), new SplittableRandom(1));
    for (int retry = 1; retry <= 40; retry++) {
      assertThat(wrap.ceilingNanos(retry)).as("retry %d", retry).isGreaterThanOrEqualTo(pow2.toNanos());
    }
  }

  @Test
  void zeroOrNegativeRetryCountsAsTheFirst() {
    Backoff b = backoff(1);
    assertThat(b.ceilingNanos(0)).isEqualTo(100 * MS);
    assertThat(b.ceilingNanos(-3)).isEqualTo(100 * MS);
  }

  @Test
  void fullJitterStaysWithinZeroAndTheCeilingAndSpreadsOverIt() {
    Backoff b = backoff(42);
    for (int retry = 1; retry <= 7; retry++) {
      long ceiling = b.ceilingNanos(retry);
      int n = 20_000;
      long min = Long.MAX_VALUE;
      long max = Long.MIN_VALUE;
      double sum = 0;
      int lowQuarter = 0;
      int highQuarter = 0;
      for (int i = 0; i < n; i++) {
        long d = b.delayNanos(retry);
        assertThat(d).isBetween(0L, ceiling);
        min = Math.min(min, d);
        max = Math.max(max, d);
        sum += d;
        if (d < ceiling / 4) {
          lowQuarter++;
        } else if (d > ceiling - ceiling / 4) {
          highQuarter++;
        }
      }
      // uniform over [0, ceiling]: mean near the middle, both ends reached, quarters about equal
      assertThat(sum / n / ceiling).as("mean / ceiling, retry %d", retry).isBetween(0.48, 0.52);
      assertThat((double) min / ceiling).isLessThan(0.01);
      assertThat((double) max / ceiling).isGreaterThan(0.99);
      assertThat(lowQuarter).isBetween(n / 4 - n / 40, n / 4 + n / 40);
      assertThat(highQuarter).isBetween(n / 4 - n / 40, n / 4 + n / 40);
    }
  }

  @Test
  void sameSeedSameDelays() {
    Backoff a = backoff(7);
    Backoff b = backoff(7);
    for (int i = 1; i < 50; i++) {
      assertThat(a.delayNanos(i % 6 + 1)).isEqualTo(b.delayNanos(i % 6 + 1));
    }
  }

  @Test
  void zeroBaseMeansNoWait() {
    RandomGenerator r = new SplittableRandom(3);
    Backoff b = new Backoff(Duration.ZERO, Duration.ZERO, r);
    for (int retry = 1; retry < 10; retry++) {
      assertThat(b.delayNanos(retry)).isZero();
    }
  }
}
