package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.provider.sim.SimStats;
import dev.sluice.telemetry.RequestRecord;
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

/** Fallback chains: a model's deployments, then other models, walked within one deadline. */
class FallbackTest {
  @TempDir
  static Path dir;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    String profile = Calls.profile(dir, """
        defaults: { first_token: 10ms, tokens_per_second: 5000, max_output_tokens: 16 }
        models:
          bad: { error_rate: 1, error_statuses: [503] }
          bad2: { error_rate: 1, error_statuses: [502] }
          bad3: { error_rate: 1, error_statuses: [500] }
          hang: { hang_before_headers: 1 }
          fast: {}
          fast2: {}
          fast3: {}
          fast4: {}
        """);
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, profile: %s }
        resilience:
          budget: { ratio: 10, min_per_second: 1000 }
          breaker: { enabled: false }
        fallbacks:
          top-primary: [backup-top]
        models:
          primary:
            deployments:
              - { id: p-bad, provider: sim, model: bad }
            fallbacks: [backup]
          backup:
            deployments:
              - { id: b-ok, provider: sim, model: fast }
          chain-a:
            deployments:
              - { id: a-bad, provider: sim, model: bad }
              - { id: a-bad-2, provider: sim, model: bad }
            fallbacks: [chain-b, chain-c]
            resilience: { retry: { max_attempts: 4 } }
          chain-b:
            deployments:
              - { id: b-bad, provider: sim, model: bad2 }
          chain-c:
            deployments:
              - { id: c-ok, provider: sim, model: fast2 }
          short-chain:
            deployments:
              - { id: s-bad, provider: sim, model: bad }
            fallbacks: [chain-b, chain-c]
            resilience: { retry: { max_attempts: 2 } }
          top-primary:
            deployments:
              - { id: tp-bad, provider: sim, model: bad3 }
          backup-top:
            deployments:
              - { id: bt-ok, provider: sim, model: fast3 }
          slow-primary:
            deployments:
              - { id: sp-hang, provider: sim, model: hang }
            fallbacks: [late-backup]
          late-backup:
            deployments:
              - { id: lb-ok, provider: sim, model: fast4 }
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
  void aFailingModelFallsBackToAnotherModel() {
    SimStats s = gw.sim().stats();
    long bad = s.requests("bad");
    long fast = s.requests("fast");
    Call c = Calls.chat(gw, Calls.body("primary", null));
    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    assertThat(c.hops()).containsExactly("p-bad:503", "b-ok:200");
    assertThat(c.header("x-sluice-deployment")).isEqualTo("b-ok");
    assertThat(s.requests("bad") - bad).isEqualTo(1);
    assertThat(s.requests("fast") - fast).isEqualTo(1);
    RequestRecord r = c.record(gw);
    assertThat(r.model()).as("recorded under the model the client asked for").isEqualTo("primary");
    assertThat(r.deployment()).isEqualTo("b-ok");
    assertThat(r.route()).isEqualTo("p-bad:503, b-ok:200");
  }

  @Test
  void theChainWalksOwnDeploymentsFirstThenEachFallbackInOrder() {
    Call c = Calls.chat(gw, Calls.body("chain-a", null));
    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    // the model's own two (in the balancer's order), then chain-b's, then chain-c's
    assertThat(c.hops().subList(0, 2)).containsExactlyInAnyOrder("a-bad:503", "a-bad-2:503");
    assertThat(c.hops().subList(2, c.hops().size())).containsExactly("b-bad:502", "c-ok:200");
  }

  @Test
  void maxAttemptsBoundsTheWholeChain() {
    SimStats s = gw.sim().stats();
    long fast2 = s.requests("fast2");
    Call c = Calls.chat(gw, Calls.body("short-chain", null));
    assertThat(c.status()).as(c.toString()).isEqualTo(502);
    assertThat(c.hops()).containsExactly("s-bad:503", "b-bad:502");
    assertThat(c.header("x-sluice-retry-skipped")).isEqualTo("max_attempts");
    assertThat(s.requests("fast2") - fast2).isZero();
  }

  @Test
  void topLevelFallbacksWorkLikeAModelsOwn() {
    Call c = Calls.chat(gw, Calls.body("top-primary", "\"stream\":true"));
    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    assertThat(c.hops()).containsExactly("tp-bad:500", "bt-ok:200");
    assertThat(Calls.events(c.body())).last().isEqualTo("[DONE]");
  }

  @Test
  void fallbacksShareTheRequestsDeadline() {
    SimStats s = gw.sim().stats();
    long backup = s.requests("fast4");
    // the primary hangs past the whole budget: there is no time left to fall back
    Call c = Calls.chat(gw, Calls.body("slow-primary", null), "x-request-timeout", "400ms");
    assertThat(c.status()).as(c.toString()).isEqualTo(504);
    assertThat(c.body()).contains("deadline_exceeded");
    assertThat(c.hops()).containsExactly("sp-hang:cancelled");
    assertThat(c.elapsedMillis()).isBetween(400L, 1_400L);
    assertThat(s.requests("fast4") - backup).isZero();
  }
}
