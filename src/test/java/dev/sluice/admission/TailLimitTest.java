package dev.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.AdmissionConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The tail limit's decisions, one window at a time, then through real windows with a fake clock. */
class TailLimitTest {
  private static final long MS = 1_000_000L;

  /** One window: its tail latency, the most requests it had in flight, whether one failed. */
  private static int window(TailLimit l, long tailMs, int maxInFlight, boolean drop) {
    l.onSample(0, tailMs * MS, maxInFlight, drop);
    return l.getLimit();
  }

  @Test
  void aSlowTailTakesATenthOff() {
    TailLimit l = new TailLimit(20, 4, 200, 1.3);
    window(l, 100, 20, false); // baseline 100 ms
    assertThat(window(l, 140, 20, false)).as("140 > 1.3 x 100").isEqualTo(18);
    assertThat(window(l, 125, 20, false)).as("within tolerance: no cut, but one full window is not yet a slot")
        .isEqualTo(18);
  }

  @Test
  void fullGoodWindowsAddOneSlotEveryThree() {
    TailLimit l = new TailLimit(20, 4, 200, 1.3);
    int[] seen = new int[7];
    for (int i = 0; i < seen.length; i++) {
      seen[i] = window(l, 100, l.getLimit(), false);
    }
    assertThat(seen).containsExactly(20, 20, 21, 21, 21, 22, 22);
  }

  @Test
  void windowsThatDoNotFillTheLimitDoNotRaiseIt() {
    TailLimit l = new TailLimit(20, 4, 200, 1.3);
    for (int i = 0; i < 30; i++) {
      window(l, 100, 9, false);
    }
    assertThat(l.getLimit()).isEqualTo(20);
  }

  @Test
  void aFailureFromOverloadTakesATenthOffEvenWhenFast() {
    TailLimit l = new TailLimit(20, 4, 200, 1.3);
    window(l, 100, 20, false);
    assertThat(window(l, 90, 20, true)).isEqualTo(18);
  }

  @Test
  void theLimitStaysWithinItsBounds() {
    TailLimit l = new TailLimit(6, 5, 7, 1.3);
    window(l, 100, 6, false);
    for (int i = 0; i < 20; i++) {
      window(l, 500, 6, false);
    }
    assertThat(l.getLimit()).isEqualTo(5);
    for (int i = 0; i < 20; i++) {
      window(l, 100, 7, false);
    }
    assertThat(l.getLimit()).isEqualTo(7);
  }

  @ParameterizedTest
  @ValueSource(doubles = {1.2, 1.5, 2.0})
  void aProviderSlowerForGoodIsRelearnedAndTheLimitGrowsAgain(double tolerance) {
    TailLimit l = new TailLimit(20, 4, 200, tolerance);
    window(l, 100, 20, false);
    int windows = 0;
    // 2.5 times as slow from now on: first the limit comes down, then the baseline follows
    while (l.baselineNanos() * tolerance < 250 * MS) {
      window(l, 250, l.getLimit(), false);
      windows++;
      assertThat(windows).as("re-learned within ln(2.5 / tolerance) / ln(1.005) windows").isLessThanOrEqualTo(190);
    }
    assertThat(l.getLimit()).as("it came down first").isLessThan(20);
    int low = l.getLimit();
    for (int i = 0; i < 9; i++) {
      window(l, 250, l.getLimit(), false);
    }
    assertThat(l.getLimit()).as("grows again once 250 ms is the norm").isGreaterThan(low);
    assertThat(l.baselineNanos()).isLessThanOrEqualTo(250.0 * MS);
  }

  @Test
  void aWindowOfFastFailuresDoesNotTeachTheBaseline() {
    TailLimit l = new TailLimit(20, 4, 200, 1.3);
    window(l, 100, 20, false);
    // a second of instant 429s: the limit comes down, the baseline stays at 100 ms
    assertThat(window(l, 2, 20, true)).isEqualTo(18);
    assertThat(l.baselineNanos()).isEqualTo(100.0 * MS);
    for (int i = 0; i < 6; i++) {
      window(l, 100, l.getLimit(), false);
    }
    assertThat(l.getLimit()).as("100 ms is normal again: it grows back").isEqualTo(20);
  }

  @Test
  void aFirstWindowWithFailuresCutsTheLimitWithoutSettingABaseline() {
    TailLimit l = new TailLimit(20, 4, 200, 1.3);
    assertThat(window(l, 1, 20, true)).isEqualTo(18);
    assertThat(l.baselineNanos()).isNaN();
    window(l, 100, 18, false);
    assertThat(l.baselineNanos()).isEqualTo(100.0 * MS);
  }

  @Test
  void onlyWindowsInARowThatFillTheLimitAddASlot() {
    TailLimit l = new TailLimit(20, 4, 200, 1.3);
    window(l, 100, 20, false);
    window(l, 100, 20, false);
    window(l, 100, 12, false); // a quiet window in between starts the count again
    window(l, 100, 20, false);
    assertThat(window(l, 100, 20, false)).isEqualTo(20);
    assertThat(window(l, 100, 20, false)).isEqualTo(21);
  }

  @Test
  void aDeploymentCeilingBelowTheFloorBoundsTheTailLimitToo() {
    // defaults floor 128, a deployment allowed 50 at once: the limit lives within 50, and still moves
    ConcurrencyLimiter c = new ConcurrencyLimiter(new AdmissionConfig.Limit("tail", 512, 128, 8192, 1.3), 50);
    assertThat(c.limit()).isEqualTo(50);
  }

  @Test
  void aToleranceOfOneOrLessIsRefused() {
    assertThatThrownBy(() -> new TailLimit(20, 4, 200, 1.0)).isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * Through the limiter's real windows (the library's percentile window, one window a second of
   * sample time): three requests in a hundred waiting a whole answer inside the provider barely move
   * the average, so Vegas keeps its limit (or raises it), while the tail limit comes down.
   */
  @Test
  void aFewLongWaitsInTheProviderBringTheTailLimitDownWhereVegasHoldsIt() {
    ConcurrencyLimiter tail = new ConcurrencyLimiter(new AdmissionConfig.Limit("tail", 20, 4, 200, 1.3), -1);
    ConcurrencyLimiter vegas = new ConcurrencyLimiter(new AdmissionConfig.Limit("vegas", 20, 4, 200, 1.1), -1);
    for (ConcurrencyLimiter l : new ConcurrencyLimiter[] {tail, vegas}) {
      long[] clock = {0};
      windows(l, clock, 0, 2);
      int settled = l.limit();
      windows(l, clock, 3, 2);
      if (l == tail) {
        assertThat(l.limit()).as("tail").isLessThan(settled);
      } else {
        assertThat(l.limit()).as("vegas").isGreaterThanOrEqualTo(settled);
      }
    }
  }

  /** Windows of 100 samples, 100 ms each except {@code slow} of them at 165 ms, the limit's slots all held. */
  private static void windows(ConcurrencyLimiter l, long[] clock, int slow, int count) {
    // 11 ms of sample time apart: a window closes every second
    SaturatedSamples.feed(l, clock, 11 * MS, count * 100, i -> (i % 100) < slow ? 165 * MS : 100 * MS);
  }
}
