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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An outage of one deployment: retries stay within the budget, and a request that gets none says why. */
class RetryBudgetFaultTest {
  @TempDir
  static Path dir;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    String profile = Calls.profile(dir, """
        defaults: { first_token: 5ms, tokens_per_second: 5000, max_output_tokens: 8 }
        models:
          down: { error_rate: 1, error_statuses: [503] }
          up: {}
        """);
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, profile: %s }
        resilience:
          budget: { ratio: 0.1, min_per_second: 0, window: 60s }
          breaker: { enabled: false }
        models:
          m:
            deployments:
              - { id: down, provider: sim, model: down }
              - { id: up, provider: sim, model: up }
        """.formatted(profile));
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  @Test
  void retriesStayWithinTheBudgetAndTheRestSayBudget() {
    SimStats s = gw.sim().stats();
    int n = 200;
    int retried = 0;
    int refused = 0;
    int ok = 0;
    for (int i = 0; i < n; i++) {
      Call c = Calls.chat(gw, Calls.body("m", null), "x-request-timeout", "10s");
      if (c.status() == 200) {
        ok++;
        if (c.attempts() == 2) {
          retried++;
          assertThat(c.hops()).containsExactly("down:503", "up:200");
        } else {
          assertThat(c.hops()).containsExactly("up:200");
        }
      } else {
        // the original error, and why no retry happened
        assertThat(c.status()).as(c.toString()).isEqualTo(503);
        assertThat(c.hops()).containsExactly("down:503");
        assertThat(c.header("x-sluice-retry-skipped")).isEqualTo("budget");
        assertThat(c.header("x-sluice-upstream-status")).isEqualTo("503");
        refused++;
      }
    }
    long upstream = s.requests("down") + s.requests("up");
    assertThat(retried + refused).as("about half went to the failing deployment first").isBetween(60, 140);
    assertThat(retried).as("some retries are allowed").isPositive();
    assertThat(retried).as("no more than 10%% of requests are retries").isLessThanOrEqualTo(n / 10);
    assertThat(refused).isPositive();
    assertThat((double) upstream / n).as("upstream calls per request").isLessThanOrEqualTo(1.1);
    assertThat(upstream).isEqualTo(n + retried);
    assertThat(ok).isEqualTo(n - refused);
    System.out.printf("budget: %d requests, %d retried, %d refused for budget, %.3f upstream calls each%n",
        n, retried, refused, (double) upstream / n);
    AtRest.check(gw);
  }
}
