package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.provider.sim.SimStats;
import dev.sluice.testing.AtRest;
import dev.sluice.testing.Calls;
import dev.sluice.testing.Calls.Call;
import dev.sluice.testing.TestGateway;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** 429 with Retry-After: the deployment cools down, traffic moves away, and a retry waits only if it fits. */
class RateLimitFaultTest {
  @TempDir
  static Path dir;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    String profile = Calls.profile(dir, """
        defaults: { first_token: 5ms, tokens_per_second: 5000 }
        models:
          limited: { rate_limit_rate: 1, retry_after: 30 }
          fast: { first_token: 5ms }
          fast2: { first_token: 5ms }
          fast3: { first_token: 5ms }
          quota: { requests_per_minute: 5 }
          spare: { first_token: 5ms }
        """);
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, profile: %s }
        resilience:
          budget: { ratio: 10, min_per_second: 1000 }
          breaker: { enabled: false }
        models:
          moves-away:
            deployments:
              - { id: rate-limited, provider: sim, model: limited, weight: 1 }
              - { id: open, provider: sim, model: fast, weight: 0 }
          single-waits:
            deployments:
              - { id: alone, provider: sim, model: fast2 }
            resilience: { retry: { max_attempts: 2 } }
          single-no-time:
            deployments:
              - { id: alone-too, provider: sim, model: fast3 }
          paced:
            deployments:
              - { id: with-quota, provider: sim, model: quota, weight: 1 }
              - { id: spare, provider: sim, model: spare, weight: 0 }
        """.formatted(profile));
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  @AfterEach
  void atRest() {
    AtRest.check(gw);
  }

  @Test
  void aRateLimitedDeploymentCoolsDownAndTrafficMovesAway() {
    SimStats s = gw.sim().stats();
    Call first = Calls.chat(gw, Calls.body("moves-away", null));
    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    assertThat(first.hops()).containsExactly("rate-limited:429", "open:200");
    for (int i = 0; i < 20; i++) {
      Call c = Calls.chat(gw, Calls.body("moves-away", null));
      assertThat(c.status()).as(c.toString()).isEqualTo(200);
      assertThat(c.hops()).as("the cooling deployment is not tried").containsExactly("open:200");
    }
    assertThat(s.requests("limited")).isEqualTo(1);
    assertThat(s.requests("fast")).isEqualTo(21);
    assertThat(gw.gateway().services().registry().find("moves-away").orElseThrow().deployments().get(0)
        .health().resting()).isTrue();
  }

  @Test
  void withOneDeploymentTheRetryWaitsForRetryAfterWhenItFits() {
    SimStats s = gw.sim().stats();
    long before = s.requests("fast2");
    Call c = Calls.chat(gw, Calls.body("single-waits", "\"sim\":{\"rate_limit_rate\":1,\"retry_after\":1}"),
        "x-request-timeout", "5s");
    // 429, a wait of Retry-After (1 s), the second and last attempt: 429 again
    assertThat(c.status()).as(c.toString()).isEqualTo(429);
    assertThat(c.hops()).containsExactly("alone:429", "alone:429");
    assertThat(c.header("x-sluice-retry-skipped")).isEqualTo("max_attempts");
    assertThat(c.header("retry-after")).as("the provider's Retry-After reaches the client").isEqualTo("1");
    assertThat(c.elapsedMillis()).as("waited for Retry-After").isBetween(950L, 4_000L);
    assertThat(s.requests("fast2") - before).isEqualTo(2);
  }

  @Test
  void whenRetryAfterDoesNotFitTheBudgetTheErrorComesAtOnce() {
    SimStats s = gw.sim().stats();
    long before = s.requests("fast3");
    Call c = Calls.chat(gw, Calls.body("single-no-time", "\"sim\":{\"rate_limit_rate\":1,\"retry_after\":5}"),
        "x-request-timeout", "2s");
    assertThat(c.status()).as(c.toString()).isEqualTo(429);
    assertThat(c.hops()).containsExactly("alone-too:429");
    assertThat(c.header("x-sluice-retry-skipped")).isEqualTo("deadline");
    assertThat(c.header("retry-after")).isEqualTo("5");
    assertThat(c.elapsedMillis()).as("no waiting for a retry that cannot happen").isLessThan(1_500L);
    assertThat(s.requests("fast3") - before).isEqualTo(1);
  }

  @Test
  void quotaHeadersSteerTrafficAwayBeforeThe429() {
    SimStats s = gw.sim().stats();
    long limited = s.status(429);
    // the provider allows 5 requests a minute and says how many are left; at 0 the gateway looks elsewhere
    for (int i = 0; i < 10; i++) {
      Call c = Calls.chat(gw, Calls.body("paced", "\"max_tokens\":1"));
      assertThat(c.status()).as(c.toString()).isEqualTo(200);
      assertThat(c.attempts()).as("no request needed a second attempt: %s", c).isEqualTo(1);
    }
    assertThat(s.requests("quota")).isEqualTo(5);
    assertThat(s.requests("spare")).isEqualTo(5);
    assertThat(s.status(429) - limited).as("no request reached the limit").isZero();
  }
}
