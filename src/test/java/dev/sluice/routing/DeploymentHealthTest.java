package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ResilienceConfig;
import dev.sluice.testing.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Breaker transitions, cooldowns and quota rest of one deployment, on a fake clock. */
class DeploymentHealthTest {
  private static final long MS = 1_000_000L;
  private static final RuntimeException BOOM = new IllegalStateException("503");

  private final FakeClock clock = new FakeClock();
  private final List<String> transitions = new ArrayList<>();

  private DeploymentHealth health(ResilienceConfig.Breaker b) {
    ResilienceConfig c = new ResilienceConfig(ResilienceConfig.Retry.DEFAULTS, ResilienceConfig.Budget.DEFAULTS, b,
        ResilienceConfig.Hedge.DEFAULTS, ResilienceConfig.AdaptiveFirstByte.DEFAULTS, ResilienceConfig.Quota.DEFAULTS,
        ResilienceConfig.Routing.WEIGHTED);
    return new DeploymentHealth("d1", c, clock, (id, from, to) -> transitions.add(id + ":" + from + "->" + to));
  }

  /** window 10 calls, judged from 4, opens at 50% failed or 50% slower than 1 s, 5 s open, 3 probes. */
  private DeploymentHealth health() {
    return health(new ResilienceConfig.Breaker(true, 50, 50, Duration.ofSeconds(1), 10, 4, Duration.ofSeconds(5), 3));
  }

  private static void succeed(DeploymentHealth h, long latencyNanos) {
    assertThat(h.tryAcquire()).as("permit").isTrue();
    h.onSuccess(latencyNanos, true);
  }

  private static void fail(DeploymentHealth h) {
    assertThat(h.tryAcquire()).as("permit").isTrue();
    h.onFailure(10 * MS, BOOM, true);
  }

  private void open(DeploymentHealth h) {
    for (int i = 0; i < 4; i++) {
      fail(h);
    }
    assertThat(h.breakerState()).isEqualTo("open");
  }

  @Test
  void opensOnFailureRateOnceEnoughCallsAreSeen() {
    DeploymentHealth h = health();
    fail(h);
    fail(h);
    succeed(h, 10 * MS);
    assertThat(h.breakerState()).as("3 calls: below minimum_calls").isEqualTo("closed");
    assertThat(h.breakerOpen()).isFalse();
    fail(h); // 3 of 4 failed
    assertThat(h.breakerState()).isEqualTo("open");
    assertThat(h.breakerOpen()).isTrue();
    assertThat(h.tryAcquire()).as("an open breaker refuses").isFalse();
    assertThat(transitions).containsExactly("d1:closed->open");
  }

  @Test
  void staysClosedBelowTheFailureRate() {
    DeploymentHealth h = health();
    for (int i = 0; i < 30; i++) {
      if (i % 4 == 0) {
        fail(h);
      } else {
        succeed(h, 10 * MS);
      }
    }
    assertThat(h.breakerState()).isEqualTo("closed");
    assertThat(transitions).isEmpty();
  }

  @Test
  void opensOnSlowCallRate() {
    DeploymentHealth h = health();
    succeed(h, 10 * MS);
    succeed(h, 10 * MS);
    succeed(h, 1_500 * MS);
    assertThat(h.breakerState()).isEqualTo("closed");
    succeed(h, 2_000 * MS); // 2 of 4 slower than 1 s: 50%
    assertThat(h.breakerState()).isEqualTo("open");
    assertThat(h.breakerOpen()).isTrue();
  }

  @Test
  void halfOpensAfterOpenForOnTheInjectedClock() {
    DeploymentHealth h = health();
    open(h);
    clock.advance(Duration.ofMillis(4_999));
    assertThat(h.breakerOpen()).isTrue();
    assertThat(h.tryAcquire()).isFalse();
    clock.advance(Duration.ofMillis(2));
    // routing asks breakerOpen() before asking for a permit: once open_for has passed it must say no,
    // or the deployment is skipped for ever and never gets its probes
    assertThat(h.breakerOpen()).as("open_for has passed").isFalse();
    assertThat(h.tryAcquire()).isTrue();
    assertThat(h.breakerState()).isEqualTo("half_open");
    assertThat(transitions).containsExactly("d1:closed->open", "d1:open->half_open");
  }

  @Test
  void halfOpenAllowsOnlyItsProbesAndClosesWhenTheySucceed() {
    DeploymentHealth h = health();
    open(h);
    clock.advance(Duration.ofSeconds(6));
    assertThat(h.tryAcquire()).isTrue();
    assertThat(h.tryAcquire()).isTrue();
    assertThat(h.tryAcquire()).isTrue();
    assertThat(h.tryAcquire()).as("only 3 probes at a time").isFalse();
    assertThat(h.breakerOpen()).as("half-open is not open: routing asks for a permit").isFalse();
    h.onSuccess(10 * MS, true);
    h.onSuccess(10 * MS, true);
    assertThat(h.breakerState()).isEqualTo("half_open");
    h.onSuccess(10 * MS, true);
    assertThat(h.breakerState()).isEqualTo("closed");
    assertThat(h.tryAcquire()).isTrue();
    h.release(true);
    assertThat(transitions).containsExactly("d1:closed->open", "d1:open->half_open", "d1:half_open->closed");
  }

  @Test
  void failedProbesOpenItAgainForAnotherOpenFor() {
    DeploymentHealth h = health();
    open(h);
    clock.advance(Duration.ofSeconds(6));
    for (int i = 0; i < 3; i++) {
      assertThat(h.tryAcquire()).isTrue();
    }
    h.onFailure(10 * MS, BOOM, true);
    h.onFailure(10 * MS, BOOM, true);
    h.onSuccess(10 * MS, true);
    assertThat(h.breakerState()).isEqualTo("open");
    assertThat(h.breakerOpen()).isTrue();
    clock.advance(Duration.ofMillis(4_999));
    assertThat(h.breakerOpen()).isTrue();
    assertThat(h.tryAcquire()).isFalse();
    clock.advance(Duration.ofMillis(2));
    assertThat(h.breakerOpen()).isFalse();
    assertThat(h.tryAcquire()).isTrue();
    assertThat(transitions).containsExactly("d1:closed->open", "d1:open->half_open", "d1:half_open->open",
        "d1:open->half_open");
  }

  @Test
  void aSlowProbeCountsAgainstClosing() {
    DeploymentHealth h = health();
    open(h);
    clock.advance(Duration.ofSeconds(6));
    for (int i = 0; i < 3; i++) {
      assertThat(h.tryAcquire()).isTrue();
    }
    h.onSuccess(3_000 * MS, true);
    h.onSuccess(3_000 * MS, true);
    h.onSuccess(10 * MS, true);
    assertThat(h.breakerState()).isEqualTo("open");
  }

  @Test
  void releasedPermitsAreGivenBackAndTellNothing() {
    DeploymentHealth h = health();
    open(h);
    clock.advance(Duration.ofSeconds(6));
    for (int i = 0; i < 3; i++) {
      assertThat(h.tryAcquire()).isTrue();
    }
    assertThat(h.tryAcquire()).isFalse();
    // cancelled probes (a hedge lost, the client left, a 429): the permits come back unjudged
    h.release(true);
    h.release(true);
    assertThat(h.breakerState()).isEqualTo("half_open");
    assertThat(h.tryAcquire()).isTrue();
    assertThat(h.tryAcquire()).isTrue();
    assertThat(h.tryAcquire()).isFalse();
  }

  @Test
  void outcomesWithoutAPermitAreNotRecorded() {
    DeploymentHealth h = health();
    for (int i = 0; i < 10; i++) {
      h.onFailure(10 * MS, BOOM, false);
    }
    assertThat(h.breakerState()).isEqualTo("closed");
  }

  @Test
  void aDisabledBreakerAlwaysPermits() {
    DeploymentHealth h = health(new ResilienceConfig.Breaker(false, 50, 50, Duration.ofSeconds(1), 10, 4,
        Duration.ofSeconds(5), 3));
    for (int i = 0; i < 50; i++) {
      fail(h);
    }
    assertThat(h.breakerState()).isEqualTo("disabled");
    assertThat(h.breakerOpen()).isFalse();
    assertThat(h.tryAcquire()).isTrue();
  }

  @Test
  void minimumCallsLargerThanTheWindowIsClippedToIt() {
    DeploymentHealth h = health(new ResilienceConfig.Breaker(true, 50, 100, Duration.ofSeconds(30), 5, 50,
        Duration.ofSeconds(5), 3));
    for (int i = 0; i < 5; i++) {
      fail(h);
    }
    assertThat(h.breakerState()).isEqualTo("open");
  }

  @Test
  void aCooldownRestsTheDeploymentForItsRetryAfter() {
    DeploymentHealth h = health();
    assertThat(h.resting()).isFalse();
    h.coolDown(Duration.ofSeconds(3).toNanos());
    assertThat(h.resting()).isTrue();
    assertThat(h.cooldownRemainingNanos()).isEqualTo(Duration.ofSeconds(3).toNanos());
    clock.advance(Duration.ofSeconds(1));
    h.coolDown(Duration.ofMillis(1_500).toNanos()); // shorter than what is left: no change
    assertThat(h.cooldownRemainingNanos()).isEqualTo(Duration.ofSeconds(2).toNanos());
    clock.advance(Duration.ofMillis(1_999));
    assertThat(h.resting()).isTrue();
    clock.advance(Duration.ofMillis(1));
    assertThat(h.resting()).isFalse();
    assertThat(h.cooldownRemainingNanos()).isZero();
    // a cooldown never rests a breaker: it is a separate state
    assertThat(h.breakerState()).isEqualTo("closed");
  }

  @Test
  void aCooldownLastsAtLeastOneSecond() {
    DeploymentHealth h = health();
    h.coolDown(0);
    assertThat(h.cooldownRemainingNanos()).isEqualTo(Duration.ofSeconds(1).toNanos());
  }

  @Test
  void spentQuotaRestsUntilItsReset() {
    DeploymentHealth h = health();
    h.quota().update("0", "2s", null, null, 0, 0);
    assertThat(h.resting()).isTrue();
    clock.advance(Duration.ofMillis(1_999));
    assertThat(h.resting()).isTrue();
    clock.advance(Duration.ofMillis(1));
    assertThat(h.resting()).isFalse();
  }

  @Test
  void latencyIsKeptPerKindAndFeedsTheEwma() {
    DeploymentHealth h = health();
    h.recordLatency(false, 100 * MS);
    h.recordLatency(true, 300 * MS);
    assertThat(h.latency(false).size()).isEqualTo(1);
    assertThat(h.latency(true).size()).isEqualTo(1);
    assertThat(h.latency(false).quantile(0.5)).isEqualTo(100 * MS);
    assertThat(h.latency(true).quantile(0.5)).isEqualTo(300 * MS);
    assertThat(h.ewma().estimateNanos()).isEqualTo(300 * MS);
  }
}
