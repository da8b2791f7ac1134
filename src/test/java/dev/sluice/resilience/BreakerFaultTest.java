package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.provider.sim.SimStats;
import dev.sluice.routing.DeploymentHealth;
import dev.sluice.testing.AtRest;
import dev.sluice.testing.Calls;
import dev.sluice.testing.Calls.Call;
import dev.sluice.testing.RawUpstream;
import dev.sluice.testing.TestGateway;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A deployment that breaks, stays broken, then recovers: its breaker opens and traffic skips it,
 * probes go to it after open_for, failed probes open it again, and good probes close it.
 */
class BreakerFaultTest {
  @TempDir
  static Path dir;
  static RawUpstream raw;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    raw = new RawUpstream(RawUpstream.Mode.RESET_ON_REQUEST);
    String profile = Calls.profile(dir, """
        defaults: { first_token: 5ms, tokens_per_second: 5000, max_output_tokens: 8 }
        models:
          fast: {}
        """);
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, profile: %s }
          raw: { type: openai, base_url: "%s" }
        resilience:
          budget: { ratio: 10, min_per_second: 1000 }
          breaker: { window: 10, minimum_calls: 5, failure_rate: 50, open_for: 1s, half_open_calls: 2 }
        models:
          m:
            deployments:
              - { id: flappy, provider: raw }
              - { id: steady, provider: sim, model: fast }
        """.formatted(profile, raw.baseUrl()));
  }

  @AfterAll
  static void stop() {
    gw.close();
    raw.close();
  }

  private static DeploymentHealth flappy() {
    return gw.gateway().services().registry().find("m").orElseThrow().deployments().stream()
        .filter(d -> d.id().equals("flappy")).findFirst().orElseThrow().health();
  }

  private static Call call() {
    Call c = Calls.chat(gw, Calls.body("m", null), "x-request-timeout", "10s");
    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    return c;
  }

  @Test
  void opensSkipsProbesReopensAndCloses() {
    SimStats s = gw.sim().stats();

    // 1. flappy resets every connection: after 5 failed calls its breaker opens
    for (int i = 0; i < 40; i++) {
      Call c = call();
      if (c.attempts() == 2) {
        assertThat(c.hops()).containsExactly("flappy:reset", "steady:200");
      }
    }
    assertThat(raw.requests()).as("the breaker stopped the calls after minimum_calls").isEqualTo(5);
    assertThat(flappy().breakerState()).isEqualTo("open");
    long steady = s.requests("fast");
    for (int i = 0; i < 10; i++) {
      assertThat(call().hops()).as("the open deployment is skipped").containsExactly("steady:200");
    }
    assertThat(s.requests("fast") - steady).isEqualTo(10);
    gw.awaitAtRest();

    // 2. after open_for (1 s), traffic brings its probes out; they fail and it opens again
    await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(50)).until(() -> {
      call();
      return raw.requests() > 5;
    });
    for (int i = 0; i < 30; i++) {
      call();
    }
    assertThat(raw.requests()).as("exactly half_open_calls probes").isEqualTo(5 + 2);
    assertThat(flappy().breakerState()).isEqualTo("open");
    gw.awaitAtRest();

    // 3. flappy recovers: after open_for its probes succeed and it takes traffic again
    raw.mode(RawUpstream.Mode.OK);
    int probesBefore = raw.requests();
    await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(50)).until(() -> {
      call();
      return raw.requests() > probesBefore;
    });
    int served = raw.requests() - probesBefore;
    for (int i = 0; i < 30; i++) {
      Call c = call();
      assertThat(c.attempts()).isEqualTo(1);
      if (c.hops().get(0).startsWith("flappy")) {
        served++;
      }
    }
    assertThat(flappy().breakerState()).isEqualTo("closed");
    assertThat(served).as("traffic returned to the recovered deployment").isGreaterThan(2);
    assertThat(raw.requests()).isEqualTo(5 + 2 + served);
    AtRest.check(gw);
  }
}
