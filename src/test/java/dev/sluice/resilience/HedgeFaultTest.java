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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A deployment slow to its first byte: a hedge starts elsewhere, the first to commit wins, the other is cancelled. */
class HedgeFaultTest {
  @TempDir
  static Path dir;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    String profile = Calls.profile(dir, """
        seed: 5
        defaults: { first_token: 10ms, tokens_per_second: 5000, max_output_tokens: 16 }
        models:
          slow: { first_token: 2s }
          fast: { first_token: 10ms }
          slow-nb: { first_token: 2s }
          fast-nb: { first_token: 10ms }
          steady: { first_token: 30ms }
          steady-b: { first_token: 30ms }
          tail: { first_token: { median: 20ms, p99: 30ms, tail_probability: 0.2, tail_multiplier: 20 } }
        """);
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, profile: %s }
        resilience:
          budget: { ratio: 10, min_per_second: 1000 }
          breaker: { enabled: false }
        models:
          hedged:
            deployments:
              - { id: slow, provider: sim, model: slow, weight: 1 }
              - { id: quick, provider: sim, model: fast, weight: 0 }
            resilience: { hedge: { enabled: true, delay: 100ms } }
          no-budget:
            deployments:
              - { id: slow-nb, provider: sim, model: slow-nb, weight: 1 }
              - { id: quick-nb, provider: sim, model: fast-nb, weight: 0 }
            resilience:
              hedge: { enabled: true, delay: 100ms }
              budget: { ratio: 0, min_per_second: 0 }
          learned:
            deployments:
              - { id: steady, provider: sim, model: steady, weight: 1 }
              - { id: steady-b, provider: sim, model: steady-b, weight: 0 }
            resilience: { hedge: { enabled: true, min_samples: 5 } }
          tail-hedged:
            deployments:
              - { id: th-1, provider: sim, model: tail }
              - { id: th-2, provider: sim, model: tail }
            resilience: { hedge: { enabled: true, delay: 80ms } }
          tail-plain:
            deployments:
              - { id: tp-1, provider: sim, model: tail }
              - { id: tp-2, provider: sim, model: tail }
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

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void aHedgeWinsAndTheSlowAttemptIsCancelledAtTheProvider(boolean stream) {
    SimStats s = gw.sim().stats();
    long slow = s.requests("slow");
    long fast = s.requests("fast");
    long aborted = s.abortedByCaller();

    Call c = Calls.chat(gw, Calls.body("hedged", stream ? "\"stream\":true" : null), "x-request-timeout", "10s");

    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    assertThat(c.header("x-sluice-hedged")).isEqualTo("true");
    assertThat(c.hops()).containsExactly("slow:cancelled", "quick:200");
    assertThat(c.header("x-sluice-deployment")).isEqualTo("quick");
    assertThat(c.elapsedMillis()).as("the hedge's answer, not the 2 s one").isBetween(100L, 1_500L);
    if (stream) {
      assertThat(Calls.events(c.body())).last().isEqualTo("[DONE]");
    }
    assertThat(s.requests("slow") - slow).isEqualTo(1);
    assertThat(s.requests("fast") - fast).isEqualTo(1);
    // the loser is cancelled at once: the provider sees its exchange abandoned, long before its 2 s
    await().atMost(Duration.ofMillis(1_500)).until(() -> s.abortedByCaller() - aborted == 1);
    assertThat(c.record(gw).hedged()).isTrue();
  }

  @Test
  void hedgesCountAgainstTheRetryBudget() {
    SimStats s = gw.sim().stats();
    long fast = s.requests("fast-nb");
    Call c = Calls.chat(gw, Calls.body("no-budget", null), "x-request-timeout", "10s");
    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    assertThat(c.header("x-sluice-hedged")).isNull();
    assertThat(c.hops()).containsExactly("slow-nb:200");
    assertThat(c.elapsedMillis()).as("no hedge: the slow answer").isGreaterThanOrEqualTo(1_900L);
    assertThat(s.requests("fast-nb") - fast).isZero();
  }

  @Test
  void withoutAFixedDelayItHedgesAtTheObservedP95OnceItHasEnoughSamples() {
    String slowBoth = "\"sim\":{\"first_token\":\"700ms\"}";
    // too few samples yet: no hedge, the slow answer
    Call before = Calls.chat(gw, Calls.body("learned", slowBoth), "x-request-timeout", "10s");
    assertThat(before.header("x-sluice-hedged")).as(before.toString()).isNull();
    assertThat(before.attempts()).isEqualTo(1);
    for (int i = 0; i < 25; i++) {
      // once 5 samples are in, the odd normal request slower than the p95 so far is hedged too: by design
      Call c = Calls.chat(gw, Calls.body("learned", null));
      assertThat(c.status()).isEqualTo(200);
      assertThat(c.hops().get(0)).as(c.toString()).startsWith("steady:");
    }
    // p95 of steady's answers (one of 700 ms, 25 of about 30 ms) is now about 30 ms: a slower request is hedged
    Call after = Calls.chat(gw, Calls.body("learned", slowBoth), "x-request-timeout", "10s");
    assertThat(after.status()).isEqualTo(200);
    assertThat(after.header("x-sluice-hedged")).as(after.toString()).isEqualTo("true");
    assertThat(after.attempts()).isEqualTo(2);
    assertThat(after.hops()).anyMatch(h -> h.endsWith(":cancelled"));
  }

  @Test
  void hedgingAtAFixedDelayCutsTheTail() {
    SimStats s = gw.sim().stats();
    long aborted = s.abortedByCaller();
    int n = 50;
    int slowPlain = 0;
    int slowHedged = 0;
    int hedged = 0;
    int cancelled = 0;
    for (int i = 0; i < n; i++) {
      Call p = Calls.chat(gw, Calls.body("tail-plain", null), "x-request-timeout", "10s");
      Call h = Calls.chat(gw, Calls.body("tail-hedged", null), "x-request-timeout", "10s");
      assertThat(p.status()).isEqualTo(200);
      assertThat(h.status()).isEqualTo(200);
      assertThat(p.header("x-sluice-hedged")).isNull();
      if (p.elapsedMillis() > 250) {
        slowPlain++;
      }
      if (h.elapsedMillis() > 250) {
        slowHedged++;
      }
      if ("true".equals(h.header("x-sluice-hedged"))) {
        hedged++;
        assertThat(h.attempts()).isEqualTo(2);
        cancelled += (int) h.hops().stream().filter(x -> x.endsWith(":cancelled")).count();
      } else {
        assertThat(h.attempts()).isEqualTo(1);
      }
    }
    System.out.printf("tail: %d of %d slow without hedging, %d with; %d hedged%n", slowPlain, n, slowHedged, hedged);
    // one call in five takes 400 ms; hedged, only when both attempts are slow (one in 25)
    assertThat(slowPlain).as("slow without hedging").isGreaterThanOrEqualTo(5);
    assertThat(slowHedged).as("slow with hedging, vs %d without", slowPlain).isLessThan(slowPlain / 2);
    assertThat(hedged).isPositive();
    assertThat(cancelled).as("every hedged request cancelled its loser").isEqualTo(hedged);
    int hedgedFinal = hedged;
    await().atMost(Duration.ofSeconds(3)).untilAsserted(() ->
        assertThat(s.abortedByCaller() - aborted).as("losers seen aborted by the provider")
            .isBetween((long) hedgedFinal - 1, (long) hedgedFinal));
  }
}
