package dev.sluice.resilience;

import static dev.sluice.testing.ScriptedUpstream.write;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Calls;
import dev.sluice.testing.Calls.Call;
import dev.sluice.testing.ScriptedUpstream;
import dev.sluice.testing.ScriptedUpstream.Step;
import dev.sluice.testing.TestGateway;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two deployments both resting after a 429: one for 60 s, one for 1 s. With 10 s of budget left, a
 * retry on the one resting 1 s fits (DESIGN 4: Retry-After honoured when it fits in the budget).
 */
class RetryAfterChoiceTest {
  static ScriptedUpstream up;
  static TestGateway gw;
  static final AtomicInteger bCalls = new AtomicInteger();

  static final String ANSWER = "{\"id\":\"x\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"m\","
      + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}";
  static final String LIMITED = "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit\"}}";

  static String limited(int retryAfter) {
    return "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: " + retryAfter
        + "\r\ncontent-length: " + LIMITED.length() + "\r\n\r\n" + LIMITED;
  }

  @BeforeAll
  static void start() {
    up = new ScriptedUpstream(b -> {
      if (b.contains("\"long-rest\"")) {
        return List.<Step>of(write(limited(60)));
      }
      if (bCalls.getAndIncrement() == 0) {
        return List.<Step>of(write(limited(1)));
      }
      return List.<Step>of(write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
          + ANSWER.length() + "\r\n\r\n" + ANSWER));
    });
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        store: { url: none }
        resilience:
          budget: { ratio: 10, min_per_second: 1000 }
          breaker: { enabled: false }
          retry: { max_attempts: 3 }
        providers:
          up: { type: openai, base_url: "%s" }
        models:
          m:
            deployments:
              - { id: a, provider: up, model: long-rest, weight: 1 }
              - { id: b, provider: up, model: short-rest, weight: 0 }
        """.formatted(up.baseUrl()));
  }

  @AfterAll
  static void stop() {
    gw.close();
    up.close();
  }

  @Test
  void theRetryGoesWhereTheRestFitsTheBudget() {
    Call c = Calls.chat(gw, Calls.body("m", null), "x-request-timeout", "10s");
    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    assertThat(c.hops()).as(c.toString()).containsExactly("a:429", "b:429", "b:200");
  }
}
