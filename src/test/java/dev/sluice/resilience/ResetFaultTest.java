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
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A connection that breaks: before the commit point (no token sent to the client yet) the request
 * fails over; after it, the stream ends with an error event and is never retried.
 */
class ResetFaultTest {
  @TempDir
  static Path dir;
  static RawUpstream raw;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    raw = new RawUpstream(RawUpstream.Mode.RESET_AFTER_ROLE);
    String profile = Calls.profile(dir, """
        defaults: { first_token: 10ms, tokens_per_second: 500, min_output_tokens: 20, max_output_tokens: 40 }
        models:
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
          pair:
            deployments:
              - { id: one, provider: sim, model: fast }
              - { id: two, provider: sim, model: fast }
          stalls:
            deployments:
              - { id: stall-a, provider: sim, model: fast, timeouts: { idle: 300ms } }
              - { id: stall-b, provider: sim, model: fast, timeouts: { idle: 300ms } }
          broken-first:
            deployments:
              - { id: breaks, provider: raw, weight: 1 }
              - { id: sim-ok, provider: sim, model: fast, weight: 0 }
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

  @Test
  void aResetAfterTheFirstTokenEndsTheStreamWithAnErrorEventAndIsNotRetried() {
    SimStats s = gw.sim().stats();
    long before = s.requests("fast");
    long resets = s.resets();

    Call c = Calls.chat(gw, Calls.body("pair", "\"stream\":true,\"sim\":{\"reset_mid_stream\":1}"),
        "x-request-timeout", "10s");

    assertThat(c.status()).as("committed: the status was already sent").isEqualTo(200);
    assertThat(c.attempts()).isEqualTo(1);
    List<String> events = Calls.events(c.body());
    assertThat(events.stream().filter(e -> e.contains("\"content\":\" ")).count())
        .as("some tokens reached the client before the break").isPositive();
    assertThat(events).doesNotContain("[DONE]");
    assertThat(events.get(events.size() - 1))
        .as("a final error event, never a clean finish").startsWith("{\"error\":").contains("stream_truncated");
    assertThat(s.requests("fast") - before).as("never retried after the commit point").isEqualTo(1);
    assertThat(s.resets() - resets).isEqualTo(1);

    RequestRecord r = c.record(gw);
    assertThat(r.outcome()).isEqualTo(Outcome.TRUNCATED);
    assertThat(r.attempts()).isEqualTo(1);
  }

  @Test
  void aResetAfterTheRoleEventButBeforeAnyTokenFailsOver() {
    SimStats s = gw.sim().stats();
    long before = s.requests("fast");
    int rawBefore = raw.requests();

    Call c = Calls.chat(gw, Calls.body("broken-first", "\"stream\":true"), "x-request-timeout", "10s");

    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    assertThat(c.hops()).containsExactly("breaks:reset", "sim-ok:200");
    List<String> events = Calls.events(c.body());
    assertThat(events).last().isEqualTo("[DONE]");
    assertThat(events).noneMatch(e -> e.startsWith("{\"error\""));
    // the broken attempt's role event was not relayed: the client sees one stream, from one provider
    assertThat(events).noneMatch(e -> e.contains("\"id\":\"raw\""));
    assertThat(raw.requests() - rawBefore).isEqualTo(1);
    assertThat(s.requests("fast") - before).isEqualTo(1);
  }

  @Test
  void aResetBeforeAnyAnswerFailsOver() {
    raw.mode(RawUpstream.Mode.RESET_ON_REQUEST);
    try {
      for (boolean stream : new boolean[] {false, true}) {
        Call c = Calls.chat(gw, Calls.body("broken-first", stream ? "\"stream\":true" : null), "x-request-timeout", "10s");
        assertThat(c.status()).as(c.toString()).isEqualTo(200);
        assertThat(c.hops()).containsExactly("breaks:reset", "sim-ok:200");
      }
    } finally {
      raw.mode(RawUpstream.Mode.RESET_AFTER_ROLE);
    }
  }

  @Test
  void aStreamThatStallsAfterItsFirstTokensIsCutByTheIdleGuardAndNotRetried() {
    SimStats s = gw.sim().stats();
    long before = s.requests("fast");
    long aborted = s.abortedByCaller();

    Call c = Calls.chat(gw, Calls.body("stalls", "\"stream\":true,\"sim\":{\"hang_mid_stream\":1}"),
        "x-request-timeout", "10s");

    assertThat(c.status()).isEqualTo(200);
    assertThat(c.attempts()).isEqualTo(1);
    List<String> events = Calls.events(c.body());
    assertThat(events).doesNotContain("[DONE]");
    assertThat(events.get(events.size() - 1)).startsWith("{\"error\":").contains("idle_timeout");
    assertThat(c.elapsedMillis()).isBetween(300L, 5_000L);
    assertThat(s.requests("fast") - before).isEqualTo(1);
    // the stalled exchange was closed by the gateway, not left open at the provider
    await().atMost(Duration.ofSeconds(5)).until(() -> s.abortedByCaller() - aborted == 1);
    assertThat(c.record(gw).outcome()).isEqualTo(Outcome.TRUNCATED);
  }
}
