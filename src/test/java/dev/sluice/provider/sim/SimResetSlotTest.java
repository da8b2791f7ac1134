package dev.sluice.provider.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.server.Gateway;
import io.vertx.core.Vertx;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A stream the simulator resets mid-way must give its capacity slot back. */
class SimResetSlotTest {
  static Vertx vertx;
  static Simulator sim;

  @BeforeAll
  static void start() {
    vertx = Gateway.newVertx(1, "auto");
    SimModel one = SimProfile.apply(SimModel.FAST,
        new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(Map.of("capacity", 1, "first_token", "1ms")));
    sim = Simulator.start(vertx, new SimProfile(1, SimModel.FAST, Map.of("one", one)), "127.0.0.1", 0, 1).await();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  private static HttpRequest chat(String extra) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sim.port() + "/v1/chat/completions"))
        .header("content-type", "application/json").timeout(Duration.ofSeconds(5))
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"one\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
            + extra + "}")).build();
  }

  @Test
  void aResetStreamReleasesItsSlot() throws Exception {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpResponse<InputStream> reset = http.send(chat(",\"stream\":true,\"sim\":{\"reset_mid_stream\":1}"),
        HttpResponse.BodyHandlers.ofInputStream());
    assertThat(reset.statusCode()).isEqualTo(200);
    try (InputStream in = reset.body()) {
      in.readAllBytes();
    } catch (java.io.IOException expected) {
      // the simulator closed the connection mid-stream
    }
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(2)).until(() -> sim.stats().toJson().getLong("resets", 0L) >= 1
        || sim.stats().toJson().encode().contains("reset"));
    // the only slot must be free again: a plain request is answered
    HttpResponse<String> next = HttpClient.newHttpClient().send(chat(""), HttpResponse.BodyHandlers.ofString());
    assertThat(next.statusCode()).isEqualTo(200);
  }
}
