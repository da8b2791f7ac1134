package dev.sluice.resilience;

import static dev.sluice.testing.ScriptedUpstream.pause;
import static dev.sluice.testing.ScriptedUpstream.write;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.Calls;
import dev.sluice.testing.Calls.Call;
import dev.sluice.testing.ScriptedUpstream;
import dev.sluice.testing.ScriptedUpstream.Step;
import dev.sluice.testing.TestGateway;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DeadlineAndHedgeTest {
  static ScriptedUpstream up;
  static TestGateway gw;

  static final String ANSWER = "{\"id\":\"x\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"m\","
      + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
      + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}";

  static String head(int len) {
    return "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " + len + "\r\n\r\n";
  }

  @BeforeAll
  static void start() {
    up = new ScriptedUpstream(b -> {
      if (b.contains("\"slowbody\"")) {
        // headers and the first bytes at once, the rest of the body a second later
        return List.<Step>of(write(head(ANSWER.length()) + ANSWER.substring(0, 10)), pause(1500),
            write(ANSWER.substring(10)));
      }
      return List.<Step>of(write(head(ANSWER.length()) + ANSWER));
    });
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        store: { url: none }
        resilience:
          budget: { ratio: 10, min_per_second: 1000 }
          breaker: { enabled: false }
        providers:
          up: { type: openai, base_url: "%s" }
        models:
          demo: { deployments: [{ id: up-a, provider: up, model: m }] }
          hedged:
            deployments:
              - { id: body-slow, provider: up, model: slowbody, weight: 1 }
              - { id: quick, provider: up, model: fast, weight: 0 }
            resilience: { hedge: { enabled: true, delay: 200ms } }
        """.formatted(up.baseUrl()));
  }

  @AfterAll
  static void stop() {
    gw.close();
    up.close();
  }

  /** DESIGN 2.1: the deadline is the earliest of the client's budgets; two header lines are two budgets. */
  @Test
  void twoRequestTimeoutHeadersTheEarlierBinds() {
    Call c = Calls.chat(gw, Calls.body("demo", null), "x-request-timeout", "20s", "x-request-timeout", "2s");
    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    RequestRecord r = c.record(gw);
    assertThat(r.deadlineMs()).as("deadline of %s", c).isEqualTo(2000.0);
  }

  @Test
  void twoGrpcTimeoutHeadersTheEarlierBinds() {
    Call c = Calls.chat(gw, Calls.body("demo", null), "grpc-timeout", "20S", "grpc-timeout", "2S");
    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    assertThat(c.record(gw).deadlineMs()).isEqualTo(2000.0);
  }

  /** DESIGN 4: a hedge starts only when an attempt has not produced its first byte after the delay. */
  @Test
  void noHedgeOnceTheFirstAttemptHasItsFirstByte() {
    Call c = Calls.chat(gw, Calls.body("hedged", null), "x-request-timeout", "10s");
    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    assertThat(c.header("x-sluice-hedged")).as(c.toString()).isNull();
    assertThat(c.hops()).as(c.toString()).containsExactly("body-slow:200");
  }
}
