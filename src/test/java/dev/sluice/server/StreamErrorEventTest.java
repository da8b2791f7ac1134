package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A provider that answers a stream with an error event before any token (as providers do for a
 * context that is too long): nothing was committed, so the client gets a status and the provider's
 * own error, unwrapped from its event even when its text mentions "data:".
 */
class StreamErrorEventTest {
  static TestGateway gw;

  @BeforeAll
  static void start() {
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        store: { url: none }
        resilience: { retry: { max_attempts: 1 } }
        providers:
          sim: { type: sim }
        models:
          demo: { deployments: [{ provider: sim, model: m }] }
        """);
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  @Test
  void anErrorEventBeforeTheFirstTokenIsPassedOnAsTheProvidersError() {
    HttpResponse<String> r = gw.post("/v1/chat/completions",
        TestGateway.chat("\"stream\":true,\"sim\":{\"stream_error\":1}"));
    assertThat(r.statusCode()).isEqualTo(502);
    JsonObject e = new JsonObject(r.body()).getJsonObject("error");
    assertThat(e.getString("code")).isEqualTo("sim_stream_error");
    assertThat(e.getString("message")).contains("(data: none)");
    assertThat(r.headers().firstValue("x-sluice-upstream-status")).hasValue("200");
    gw.awaitAtRest();
  }
}
