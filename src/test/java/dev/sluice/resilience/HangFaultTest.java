package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.provider.sim.SimStats;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.AtRest;
import dev.sluice.testing.Calls;
import dev.sluice.testing.Calls.Call;
import dev.sluice.testing.RawUpstream;
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

/** A deployment that never answers: the first-byte (first-token) guard ends the attempt and another one serves. */
class HangFaultTest {
  @TempDir
  static Path dir;
  static RawUpstream raw;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    raw = new RawUpstream(RawUpstream.Mode.OK);
    String profile = Calls.profile(dir, """
        defaults: { first_token: 10ms, tokens_per_second: 2000 }
        models:
          hang: { hang_before_headers: 1 }
          fast: { first_token: 10ms }
        """);
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, profile: %s }
          raw: { type: openai, base_url: "%s" }
        resilience:
          budget: { ratio: 10, min_per_second: 1000 }
          breaker: { enabled: false }
        models:
          hang-first:
            deployments:
              - { id: hangs, provider: sim, model: hang, weight: 1,
                  timeouts: { connect: 200ms, first_byte: 300ms, first_token: 300ms } }
              - { id: healthy, provider: sim, model: fast, weight: 0 }
          hang-only:
            deployments:
              - { id: hangs-alone, provider: sim, model: hang,
                  timeouts: { connect: 200ms, first_byte: 300ms, first_token: 300ms } }
          adaptive:
            deployments:
              - { id: warm, provider: sim, model: fast, weight: 1 }
              - { id: rawok, provider: raw, weight: 0 }
            resilience:
              adaptive_first_byte: { enabled: true, factor: 3, floor: 150ms, min_samples: 10 }
        """.formatted(profile, raw.baseUrl()));
  }

  @AfterAll
  static void stop() {
    gw.close();
    raw.close();
  }

  @AfterEach
  void atRest() {
    AtRest.check(gw);
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void theGuardEndsTheHungAttemptAndTheOtherDeploymentAnswers(boolean stream) {
    SimStats s = gw.sim().stats();
    long hang = s.requests("hang");
    long fast = s.requests("fast");
    long aborted = s.abortedByCaller();
    long hangs = s.hangs();

    Call c = Calls.chat(gw, Calls.body("hang-first", stream ? "\"stream\":true" : null), "x-request-timeout", "5s");

    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    String guard = stream ? "first_token_timeout" : "first_byte_timeout";
    assertThat(c.hops()).containsExactly("hangs:" + guard, "healthy:200");
    assertThat(c.attempts()).isEqualTo(2);
    assertThat(c.header("x-sluice-deployment")).isEqualTo("healthy");
    assertThat(c.header("x-sluice-retry-skipped")).isNull();
    assertThat(c.elapsedMillis()).as("waited for the guard, not for the deadline").isBetween(300L, 4_000L);
    if (stream) {
      assertThat(Calls.events(c.body())).last().isEqualTo("[DONE]");
    } else {
      assertThat(c.body()).contains("\"chat.completion\"");
    }
    // the provider's side: one hung exchange, abandoned by the gateway, and one answered
    assertThat(s.requests("hang") - hang).isEqualTo(1);
    assertThat(s.requests("fast") - fast).isEqualTo(1);
    assertThat(s.hangs() - hangs).isEqualTo(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> s.abortedByCaller() - aborted == 1);

    RequestRecord r = c.record(gw);
    assertThat(r.outcome()).isEqualTo(Outcome.SUCCESS);
    assertThat(r.route()).isEqualTo("hangs:" + guard + ", healthy:200");
    assertThat(r.attempts()).isEqualTo(2);
  }

  @Test
  void withNowhereElseToGoItRetriesUpToMaxAttemptsThenGivesUp() {
    SimStats s = gw.sim().stats();
    long hang = s.requests("hang");
    long aborted = s.abortedByCaller();

    Call c = Calls.chat(gw, Calls.body("hang-only", null), "x-request-timeout", "10s");

    assertThat(c.status()).as(c.toString()).isEqualTo(504);
    assertThat(c.body()).contains("\"type\":\"first_byte_timeout\"");
    assertThat(c.hops()).containsExactly("hangs-alone:first_byte_timeout", "hangs-alone:first_byte_timeout",
        "hangs-alone:first_byte_timeout");
    assertThat(c.header("x-sluice-retry-skipped")).isEqualTo("max_attempts");
    // three guards of 300 ms and two backoffs of at most 100 and 200 ms, far from the 10 s deadline
    assertThat(c.elapsedMillis()).isBetween(900L, 5_000L);
    assertThat(s.requests("hang") - hang).isEqualTo(3);
    await().atMost(Duration.ofSeconds(5)).until(() -> s.abortedByCaller() - aborted == 3);
  }

  @Test
  void theAdaptiveGuardCutsAHangLongBeforeTheConfiguredOne() {
    // warm the deployment: its first bytes take tens of milliseconds
    for (int i = 0; i < 12; i++) {
      Call w = Calls.chat(gw, Calls.body("adaptive", "\"max_tokens\":4"));
      assertThat(w.status()).isEqualTo(200);
      assertThat(w.hops()).containsExactly("warm:200");
    }
    int rawBefore = raw.requests();

    // now it hangs: the configured first-byte guard is 30 s, the learned one about 150 ms
    Call c = Calls.chat(gw, Calls.body("adaptive", "\"sim\":{\"hang_before_headers\":1}"), "x-request-timeout", "20s");

    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    assertThat(c.hops()).containsExactly("warm:first_byte_timeout", "rawok:200");
    assertThat(c.body()).contains("raw answer");
    assertThat(c.elapsedMillis()).isBetween(150L, 5_000L);
    assertThat(raw.requests() - rawBefore).isEqualTo(1);
  }
}
