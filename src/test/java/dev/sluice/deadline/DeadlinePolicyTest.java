package dev.sluice.deadline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.DeadlineConfig;
import dev.sluice.deadline.DeadlinePolicy.Tier;
import dev.sluice.testing.FakeClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class DeadlinePolicyTest {
  private static final long S = 1_000_000_000L;

  /** Every tier different, so that a test can tell which one was used. */
  private static final DeadlineConfig CONFIG = new DeadlineConfig(Duration.ofSeconds(170), false,
      Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(120), Duration.ofSeconds(60),
      Duration.ofSeconds(90));

  private final FakeClock clock = new FakeClock();
  private final DeadlinePolicy policy = new DeadlinePolicy(CONFIG, clock);
  private final DeadlinePolicy skipping = new DeadlinePolicy(CONFIG.withSkip(true), clock);

  @Test
  void tiersAreReadFromConfiguration() {
    assertThat(policy.tierNanos(Tier.INFO)).isEqualTo(5 * S);
    assertThat(policy.tierNanos(Tier.INFERENCE)).isEqualTo(30 * S);
    assertThat(policy.tierNanos(Tier.INFERENCE_STREAM)).isEqualTo(120 * S);
    assertThat(policy.tierNanos(Tier.FILES)).isEqualTo(60 * S);
    assertThat(policy.tierNanos(Tier.WORKFLOWS)).isEqualTo(90 * S);
    assertThat(policy.skip()).isFalse();
    assertThat(skipping.skip()).isTrue();
  }

  @Test
  void withoutClientBudgetTheTierDecides() {
    long start = clock.getAsLong();
    Deadline d = policy.resolve(start, Tier.INFERENCE, -1, -1);
    assertThat(d.source()).isEqualTo(Deadline.Source.TIER);
    assertThat(d.bounded()).isTrue();
    assertThat(d.budgetNanos()).isEqualTo(30 * S);
    assertThat(d.atNanos()).isEqualTo(start + 30 * S);
    assertThat(d.remainingNanos()).isEqualTo(30 * S);

    assertThat(policy.resolve(start, Tier.INFERENCE_STREAM, -1, -1).budgetNanos()).isEqualTo(120 * S);
    assertThat(policy.resolve(start, Tier.INFO, -1, -1).budgetNanos()).isEqualTo(5 * S);
  }

  @Test
  void aShorterHeaderBudgetWins() {
    Deadline d = policy.resolve(clock.getAsLong(), Tier.INFERENCE, 2 * S, -1);
    assertThat(d.source()).isEqualTo(Deadline.Source.CLIENT_HEADER);
    assertThat(d.budgetNanos()).isEqualTo(2 * S);
  }

  @Test
  void aShorterBodyBudgetWins() {
    Deadline d = policy.resolve(clock.getAsLong(), Tier.INFERENCE, -1, 3 * S);
    assertThat(d.source()).isEqualTo(Deadline.Source.CLIENT_BODY);
    assertThat(d.budgetNanos()).isEqualTo(3 * S);
  }

  @Test
  void theEarlierOfHeaderAndBodyWins() {
    long start = clock.getAsLong();
    Deadline bodyFirst = policy.resolve(start, Tier.INFERENCE, 10 * S, 4 * S);
    assertThat(bodyFirst.source()).isEqualTo(Deadline.Source.CLIENT_BODY);
    assertThat(bodyFirst.budgetNanos()).isEqualTo(4 * S);

    Deadline headerFirst = policy.resolve(start, Tier.INFERENCE, 4 * S, 10 * S);
    assertThat(headerFirst.source()).isEqualTo(Deadline.Source.CLIENT_HEADER);
    assertThat(headerFirst.budgetNanos()).isEqualTo(4 * S);
  }

  @Test
  void aClientBudgetLongerThanTheTierIsCutToTheTier() {
    Deadline d = policy.resolve(clock.getAsLong(), Tier.INFERENCE, 60 * S, 45 * S);
    assertThat(d.source()).isEqualTo(Deadline.Source.TIER);
    assertThat(d.budgetNanos()).isEqualTo(30 * S);
  }

  @Test
  void theCapBindsWhenItIsEarlierThanTheTier() {
    DeadlineConfig lowCap = new DeadlineConfig(Duration.ofSeconds(20), false, Duration.ofSeconds(5),
        Duration.ofSeconds(30), Duration.ofSeconds(120), Duration.ofSeconds(60), Duration.ofSeconds(90));
    DeadlinePolicy p = new DeadlinePolicy(lowCap, clock);
    Deadline d = p.resolve(clock.getAsLong(), Tier.INFERENCE_STREAM, 50 * S, 40 * S);
    assertThat(d.source()).isEqualTo(Deadline.Source.CAP);
    assertThat(d.budgetNanos()).isEqualTo(20 * S);
    // a client budget still wins over the cap when it is shorter
    assertThat(p.resolve(clock.getAsLong(), Tier.INFERENCE, 19 * S, -1).source())
        .isEqualTo(Deadline.Source.CLIENT_HEADER);
  }

  @Test
  void zeroOrNegativeBudgetsMeanNoBudget() {
    Deadline d = policy.resolve(clock.getAsLong(), Tier.INFERENCE, 0, -1);
    assertThat(d.source()).isEqualTo(Deadline.Source.TIER);
    assertThat(policy.resolve(clock.getAsLong(), Tier.INFERENCE, -1, 0).source()).isEqualTo(Deadline.Source.TIER);
  }

  @Test
  void theDeadlineCountsFromArrivalNotFromWhenItIsResolved() {
    long arrival = clock.getAsLong();
    clock.advance(Duration.ofMillis(1500)); // e.g. the body took this long to arrive
    Deadline d = policy.resolve(arrival, Tier.INFERENCE, 5 * S, -1);
    assertThat(d.startNanos()).isEqualTo(arrival);
    assertThat(d.atNanos()).isEqualTo(arrival + 5 * S);
    assertThat(d.remainingNanos()).isEqualTo(3_500_000_000L);
  }

  @Test
  void remainingTimeFollowsTheClockAndExpiresExactlyAtTheDeadline() {
    Deadline d = policy.resolve(clock.getAsLong(), Tier.INFERENCE, 2 * S, -1);
    assertThat(d.expired()).isFalse();
    clock.advance(Duration.ofMillis(1999));
    assertThat(d.remainingNanos()).isEqualTo(1_000_000L);
    assertThat(d.expired()).isFalse();
    clock.advance(Duration.ofMillis(1));
    assertThat(d.remainingNanos()).isZero();
    assertThat(d.expired()).isTrue();
    clock.advance(Duration.ofSeconds(10));
    assertThat(d.remainingNanos()).isZero(); // never negative
    assertThat(d.expired()).isTrue();
  }

  // ---- deadline.skip -------------------------------------------------------------------------

  @ParameterizedTest
  @EnumSource(Tier.class)
  void skipLiftsTierAndCap(Tier tier) {
    Deadline d = skipping.resolve(clock.getAsLong(), tier, -1, -1);
    assertThat(d.bounded()).isFalse();
    assertThat(d.source()).isEqualTo(Deadline.Source.NONE);
    assertThat(d.remainingNanos()).isEqualTo(Long.MAX_VALUE);
    clock.advance(Duration.ofDays(1000));
    assertThat(d.expired()).isFalse();
  }

  @Test
  void skipKeepsTheClientsHeaderBudget() {
    Deadline d = skipping.resolve(clock.getAsLong(), Tier.INFERENCE, 2 * S, -1);
    assertThat(d.source()).isEqualTo(Deadline.Source.CLIENT_HEADER);
    assertThat(d.budgetNanos()).isEqualTo(2 * S);
    clock.advance(Duration.ofSeconds(2));
    assertThat(d.expired()).isTrue();
  }

  @Test
  void skipKeepsTheClientsBodyBudget() {
    Deadline d = skipping.resolve(clock.getAsLong(), Tier.INFERENCE, -1, 3 * S);
    assertThat(d.source()).isEqualTo(Deadline.Source.CLIENT_BODY);
    assertThat(d.budgetNanos()).isEqualTo(3 * S);
  }

  @Test
  void skipLetsAClientBudgetGoBeyondTierAndCap() {
    Deadline d = skipping.resolve(clock.getAsLong(), Tier.INFERENCE, Duration.ofHours(1).toNanos(), -1);
    assertThat(d.source()).isEqualTo(Deadline.Source.CLIENT_HEADER);
    assertThat(d.budgetNanos()).isEqualTo(Duration.ofHours(1).toNanos());
  }

  /**
   * A monotonic clock may read anything, and gRPC lets a client ask for thousands of years: the
   * instant {@code start + budget} must not wrap into the past and expire the request at once.
   */
  @Test
  void aHugeClientBudgetUnderSkipNeverWrapsIntoThePast() {
    clock.advanceNanos(Long.MAX_VALUE / 2);
    long huge = BudgetParser.parseGrpc("99999999H");
    assertThat(huge).isPositive();
    for (long budget : new long[] {huge, Long.MAX_VALUE / 2 + 10, BudgetParser.parseGrpc("2562047H")}) {
      Deadline d = skipping.resolve(clock.getAsLong(), Tier.INFERENCE, budget, -1);
      assertThat(d.expired()).as("budget %d", budget).isFalse();
      assertThat(d.remainingNanos()).as("budget %d", budget).isGreaterThan(Duration.ofDays(365).toNanos());
    }
  }
}
