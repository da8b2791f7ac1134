package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.testing.FakeClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class PeakEwmaTest {
  private static final long MS = 1_000_000L;
  private static final long TAU = 10_000 * MS;

  private final FakeClock clock = new FakeClock();
  private final PeakEwma e = new PeakEwma(TAU, 100 * MS, clock);

  @Test
  void startsAtTheInitialEstimate() {
    assertThat(e.estimateNanos()).isEqualTo(100 * MS);
    assertThat(e.cost(0)).isEqualTo(100 * MS);
  }

  @Test
  void aSlowerSampleIsTakenAtOnce() {
    clock.advance(Duration.ofMillis(1));
    e.record(900 * MS);
    assertThat(e.estimateNanos()).isEqualTo(900 * MS);
  }

  @Test
  void fasterSamplesPullTheEstimateDownWithTheTimeSinceTheLastOne() {
    e.record(1_000 * MS);
    clock.advance(Duration.ofNanos(TAU));
    e.record(0);
    // one time constant later a sample of 0 leaves e^-1 of the old estimate
    assertThat(e.estimateNanos()).isCloseTo(1_000 * MS * Math.exp(-1), within(1e3));
    clock.advance(Duration.ofNanos(TAU));
    e.record(200 * MS);
    double expected = 1_000 * MS * Math.exp(-1) * Math.exp(-1) + 200 * MS * (1 - Math.exp(-1));
    assertThat(e.estimateNanos()).isCloseTo(expected, within(1e3));
  }

  @Test
  void samplesCloseTogetherMoveItLittle() {
    e.record(1_000 * MS);
    clock.advance(Duration.ofMillis(100)); // 1% of tau
    e.record(0);
    assertThat(e.estimateNanos()).isCloseTo(1_000 * MS * Math.exp(-0.01), within(1e3));
  }

  @Test
  void aLongPauseLetsTheNextSampleReplaceTheEstimate() {
    e.record(5_000 * MS);
    clock.advance(Duration.ofMinutes(10));
    e.record(50 * MS);
    assertThat(e.estimateNanos()).isCloseTo(50 * MS, within(1e3));
  }

  @Test
  void theEstimateFadesWithoutSamplesSoAnIdleDeploymentIsTriedAgain() {
    e.record(10_000 * MS); // one very slow answer
    clock.advance(Duration.ofNanos(TAU));
    assertThat(e.estimateNanos()).isCloseTo(10_000 * MS * Math.exp(-1), within(1e3));
    clock.advance(Duration.ofNanos(4 * TAU));
    assertThat(e.estimateNanos()).isCloseTo(10_000 * MS * Math.exp(-5), within(1e3));
    // the next sample mixes with what is left of the old peak
    e.record(100 * MS);
    double w = Math.exp(-5);
    assertThat(e.estimateNanos()).isCloseTo(10_000 * MS * w + 100 * MS * (1 - w), within(1e3));
  }

  @Test
  void costGrowsWithTheAttemptsInFlight() {
    e.record(200 * MS);
    assertThat(e.cost(0)).isEqualTo(200 * MS);
    assertThat(e.cost(1)).isEqualTo(400 * MS);
    assertThat(e.cost(9)).isEqualTo(2_000 * MS);
  }
}
