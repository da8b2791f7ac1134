package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ResilienceConfig;
import dev.sluice.config.Timeouts;
import dev.sluice.routing.LatencyWindow;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class AdaptiveGuardTest {
  private static final long MS = 1_000_000L;
  private static final Timeouts CONFIGURED = Timeouts.DEFAULTS
      .withFirstByte(Duration.ofSeconds(30)).withFirstToken(Duration.ofSeconds(20));
  private static final ResilienceConfig.AdaptiveFirstByte ON =
      new ResilienceConfig.AdaptiveFirstByte(true, 3, Duration.ofSeconds(1), 50);

  /** A window of {@code n} samples, 1..n times {@code unit}: p99 is about 0.99 n units. */
  private static LatencyWindow window(int n, long unit) {
    LatencyWindow w = new LatencyWindow();
    for (int i = 1; i <= n; i++) {
      w.record(i * unit);
    }
    return w;
  }

  @Test
  void tightensTheFirstByteGuardToP99TimesFactor() {
    LatencyWindow w = window(100, 20 * MS); // p99 = 1980 ms
    Timeouts t = AdaptiveGuard.apply(CONFIGURED, w, false, ON);
    assertThat(t.firstByte()).isEqualTo(Duration.ofMillis(5_940));
    assertThat(t.firstToken()).as("the other kind is untouched").isEqualTo(CONFIGURED.firstToken());
    assertThat(t.connect()).isEqualTo(CONFIGURED.connect());
    assertThat(t.idle()).isEqualTo(CONFIGURED.idle());
    assertThat(t.total()).isEqualTo(CONFIGURED.total());
  }

  @Test
  void tightensTheFirstTokenGuardForStreams() {
    LatencyWindow w = window(100, 10 * MS); // p99 = 990 ms
    Timeouts t = AdaptiveGuard.apply(CONFIGURED, w, true, ON);
    assertThat(t.firstToken()).isEqualTo(Duration.ofMillis(2_970));
    assertThat(t.firstByte()).isEqualTo(CONFIGURED.firstByte());
  }

  @Test
  void neverLoosensPastTheConfiguredGuard() {
    LatencyWindow w = window(100, 200 * MS); // p99 = 19.8 s, x3 = 59.4 s
    assertThat(AdaptiveGuard.apply(CONFIGURED, w, false, ON)).isSameAs(CONFIGURED);
    assertThat(AdaptiveGuard.apply(CONFIGURED, w, true, ON)).isSameAs(CONFIGURED);
  }

  @Test
  void neverGoesBelowTheFloor() {
    LatencyWindow w = window(100, MS / 10); // p99 = 99 us
    Timeouts t = AdaptiveGuard.apply(CONFIGURED, w, false, ON);
    assertThat(t.firstByte()).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void aFloorAboveTheConfiguredGuardDoesNotLoosenIt() {
    ResilienceConfig.AdaptiveFirstByte highFloor =
        new ResilienceConfig.AdaptiveFirstByte(true, 3, Duration.ofMinutes(1), 50);
    LatencyWindow w = window(100, MS);
    assertThat(AdaptiveGuard.apply(CONFIGURED, w, false, highFloor)).isSameAs(CONFIGURED);
  }

  @Test
  void waitsForEnoughSamples() {
    LatencyWindow w = window(49, 10 * MS);
    assertThat(AdaptiveGuard.apply(CONFIGURED, w, false, ON)).isSameAs(CONFIGURED);
    w.record(10 * MS);
    assertThat(AdaptiveGuard.apply(CONFIGURED, w, false, ON)).isNotSameAs(CONFIGURED);
  }

  @Test
  void offMeansOff() {
    ResilienceConfig.AdaptiveFirstByte off = new ResilienceConfig.AdaptiveFirstByte(false, 3, Duration.ofSeconds(1), 50);
    assertThat(AdaptiveGuard.apply(CONFIGURED, window(100, 10 * MS), false, off)).isSameAs(CONFIGURED);
    assertThat(ResilienceConfig.AdaptiveFirstByte.DEFAULTS.enabled()).isFalse();
  }

  @Test
  void followsTheDeploymentAsItSpeedsUpAndSlowsDownWithinTheBounds() {
    LatencyWindow w = new LatencyWindow(100, 1);
    for (int i = 0; i < 100; i++) {
      w.record(2_000 * MS);
    }
    assertThat(AdaptiveGuard.apply(CONFIGURED, w, false, ON).firstByte()).isEqualTo(Duration.ofSeconds(6));
    for (int i = 0; i < 100; i++) {
      w.record(500 * MS);
    }
    assertThat(AdaptiveGuard.apply(CONFIGURED, w, false, ON).firstByte()).isEqualTo(Duration.ofMillis(1_500));
    for (int i = 0; i < 100; i++) {
      w.record(15_000 * MS);
    }
    assertThat(AdaptiveGuard.apply(CONFIGURED, w, false, ON).firstByte())
        .as("slower than configured allows: back to the configured guard, never more").isEqualTo(Duration.ofSeconds(30));
  }
}
