package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.AtRest;
import dev.sluice.testing.Calls;
import dev.sluice.testing.Calls.Call;
import dev.sluice.testing.RawUpstream;
import dev.sluice.testing.SseEvents;
import dev.sluice.testing.TestGateway;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A provider (or a proxy in front of it) that sends an interim {@code 102 Processing} before its
 * answer, on the same HTTP/1.1 connection. The gateway waits for the answer and relays it; the
 * interim head is neither passed on (a client needs a final status) nor taken for the end of the
 * exchange (the next request on the connection would read the previous one's answer).
 */
class InterimResponseTest {
  static RawUpstream raw;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    raw = new RawUpstream(RawUpstream.Mode.INTERIM_THEN_OK);
    // one connection, so that a second request can only be served on the first one's connection
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          raw: { type: openai, base_url: "%s", api_key: k, max_connections: 1 }
        resilience:
          retry: { max_attempts: 1 }
        models:
          slowly:
            deployments:
              - { id: r, provider: raw, model: m }
        """.formatted(raw.baseUrl()));
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

  private static String ask(String who, boolean stream) {
    return "{\"model\":\"slowly\",\"messages\":[{\"role\":\"user\",\"content\":\"" + who + "\"}]"
        + (stream ? ",\"stream\":true" : "") + "}";
  }

  @Test
  void theAnswerAfterAnInterimResponseReachesTheClient() {
    Call c = Calls.chat(gw, ask("who-ann", false), "x-request-timeout", "5s");
    assertThat(c.status()).as(c.body()).isEqualTo(200);
    assertThat(c.body()).contains("\"content\":\"for who-ann\"");
    assertThat(c.header("x-sluice-attempts")).isEqualTo("1 (r:200)");
  }

  @Test
  void aStreamAfterAnInterimResponseIsRelayedToItsEnd() {
    Call c = Calls.chat(gw, ask("who-sue", true), "x-request-timeout", "5s");
    assertThat(c.status()).as(c.body()).isEqualTo(200);
    assertThat(SseEvents.chatText(c.body())).isEqualTo("for who-sue");
    assertThat(SseEvents.last(c.body())).isEqualTo("[DONE]");
  }

  @Test
  void requestsSharingTheConnectionEachGetTheirOwnAnswer() throws Exception {
    int before = raw.requests();
    CompletableFuture<Call> alice = CompletableFuture.supplyAsync(
        () -> Calls.chat(gw, ask("who-alice", false), "x-request-timeout", "5s"));
    // bob asks while alice's answer is still to come; with one connection he waits for it to be free
    while (raw.requests() == before) {
      Thread.sleep(5);
    }
    Call bob = Calls.chat(gw, ask("who-bob", false), "x-request-timeout", "5s");
    assertThat(bob.status()).as(bob.body()).isEqualTo(200);
    assertThat(bob.body()).contains("\"content\":\"for who-bob\"").doesNotContain("who-alice");
    Call a = alice.get();
    assertThat(a.status()).as(a.body()).isEqualTo(200);
    assertThat(a.body()).contains("\"content\":\"for who-alice\"");
    assertThat(raw.requests() - before).isEqualTo(2);
  }
}
