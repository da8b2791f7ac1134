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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Provider errors: what is retried (5xx), how far (max_attempts), and what never is (4xx but 429). */
class StatusFaultTest {
  @TempDir
  static Path dir;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    String profile = Calls.profile(dir, """
        defaults: { first_token: 10ms, tokens_per_second: 2000 }
        models:
          flaky: { error_rate: 0.5, error_statuses: [503] }
          fast: { first_token: 10ms }
        """);
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, profile: %s, seed: 11 }
        resilience:
          budget: { ratio: 10, min_per_second: 1000 }
          breaker: { enabled: false }
          retry: { max_attempts: 3, backoff: { base: 5ms, max: 20ms } }
        models:
          flaky:
            deployments:
              - { id: flaky-a, provider: sim, model: flaky }
              - { id: flaky-b, provider: sim, model: flaky }
          pair:
            deployments:
              - { id: one, provider: sim, model: fast }
              - { id: two, provider: sim, model: fast }
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
  void halfTheCallsFailAndRetriesRecoverMostWithinMaxAttempts() throws Exception {
    SimStats s = gw.sim().stats();
    long before = s.requests("flaky");
    int n = 200;
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<Call>> futures = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      futures.add(pool.submit(() -> Calls.chat(gw, Calls.body("flaky", "\"max_tokens\":4"), "x-request-timeout", "10s")));
    }
    int ok = 0;
    int attempts = 0;
    for (Future<Call> f : futures) {
      Call c = f.get();
      attempts += c.attempts();
      assertThat(c.attempts()).as(c.toString()).isBetween(1, 3);
      List<String> hops = c.hops();
      // every hop but the last failed with the provider's 503
      hops.subList(0, hops.size() - 1).forEach(h -> assertThat(h).endsWith(":503"));
      if (c.status() == 200) {
        ok++;
        assertThat(hops.get(hops.size() - 1)).endsWith(":200");
        assertThat(c.header("x-sluice-retry-skipped")).isNull();
      } else {
        // three 503s in a row: the provider's error, and why it stopped
        assertThat(c.status()).as(c.toString()).isEqualTo(503);
        assertThat(c.attempts()).isEqualTo(3);
        assertThat(c.header("x-sluice-retry-skipped")).isEqualTo("max_attempts");
        assertThat(c.header("x-sluice-upstream-status")).isEqualTo("503");
        assertThat(c.body()).contains("simulated failure");
      }
    }
    pool.shutdown();
    // P(three failures) = 1/8: about 87% succeed
    assertThat(ok).as("successes of %d", n).isGreaterThan((int) (n * 0.78));
    assertThat(ok).as("some still fail: the retries are bounded").isLessThan(n);
    // the provider saw exactly the attempts the client was told about
    assertThat(s.requests("flaky") - before).isEqualTo(attempts);
    assertThat(attempts).isLessThanOrEqualTo(3 * n);
  }

  @ParameterizedTest
  @ValueSource(ints = {400, 401, 403, 404, 422})
  void aClientErrorFromTheProviderIsNeverRetried(int status) {
    SimStats s = gw.sim().stats();
    long before = s.requests("fast");
    Call c = Calls.chat(gw, Calls.body("pair", "\"sim\":{\"error_rate\":1,\"error_statuses\":[" + status + "]}"));
    // the provider refusing the gateway's own key is the operator's problem: a 502, not the client's 401
    boolean credentials = status == 401 || status == 403;
    assertThat(c.status()).as(c.toString()).isEqualTo(credentials ? 502 : status);
    assertThat(c.attempts()).isEqualTo(1);
    assertThat(c.hops()).hasSize(1).allMatch(h -> h.endsWith(":" + status));
    assertThat(c.header("x-sluice-retry-skipped")).as("nothing was skipped: it is not retryable").isNull();
    assertThat(c.header("x-sluice-upstream-status")).isEqualTo(String.valueOf(status));
    assertThat(c.body()).contains(credentials ? "\"upstream_auth_error\"" : "\"invalid_request_error\"");
    assertThat(s.requests("fast") - before).isEqualTo(1);
  }

  @ParameterizedTest
  @ValueSource(ints = {500, 502, 503, 504})
  void aServerErrorIsRetriedOnTheOtherDeploymentUpToMaxAttempts(int status) {
    SimStats s = gw.sim().stats();
    long before = s.requests("fast");
    Call c = Calls.chat(gw, Calls.body("pair", "\"sim\":{\"error_rate\":1,\"error_statuses\":[" + status + "]}"));
    assertThat(c.status()).as(c.toString()).isEqualTo(status);
    assertThat(c.attempts()).isEqualTo(3);
    // both deployments once before either twice
    List<String> hops = c.hops();
    assertThat(hops.get(0).split(":")[0]).isNotEqualTo(hops.get(1).split(":")[0]);
    assertThat(hops).allMatch(h -> h.endsWith(":" + status));
    assertThat(c.header("x-sluice-retry-skipped")).isEqualTo("max_attempts");
    assertThat(s.requests("fast") - before).isEqualTo(3);
  }
}
