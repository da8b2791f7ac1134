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

/** The simulator's serving capacity (work waits for a slot) and run-time behaviour changes. */
class SimCapacityTest {
  static Vertx vertx;
  static Simulator sim;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    vertx = Gateway.newVertx(1, "auto");
    SimModel one = SimProfile.apply(SimModel.FAST,
        new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(Map.of("capacity", 1, "first_token", "1ms")));
    sim = Simulator.start(vertx, new SimProfile(1, SimModel.FAST, Map.of("one", one, "other", SimModel.FAST)),
        "127.0.0.1", 0, 1).await();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  private static HttpRequest chat(String model, String extra) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sim.port() + "/v1/chat/completions"))
        .header("content-type", "application/json").timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model
            + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + extra + "}")).build();
  }

  @Test
  void workBeyondCapacityWaitsForASlot() throws Exception {
    // the first stream holds the only slot: it stalls mid-stream and keeps its connection
    HttpResponse<InputStream> holder = HTTP.send(chat("one", ",\"stream\":true,\"sim\":{\"hang_mid_stream\":1}"),
        HttpResponse.BodyHandlers.ofInputStream());
    assertThat(holder.statusCode()).isEqualTo(200);
    var waiting = HTTP.sendAsync(chat("one", ""), HttpResponse.BodyHandlers.ofString());
    // no answer may come while the slot is held
    org.awaitility.Awaitility.await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
        .until(() -> !waiting.isDone());
    holder.body().close(); // the holder leaves: its slot goes to the waiting request
    assertThat(waiting.get().statusCode()).isEqualTo(200);
  }

  @Test
  void behaviourCanChangeAtRunTime() throws Exception {
    assertThat(HTTP.send(chat("other", ""), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    HttpResponse<String> c = HTTP.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + sim.port() + "/sim/models/other"))
        .POST(HttpRequest.BodyPublishers.ofString("{\"error_rate\":1,\"error_statuses\":[503]}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(c.statusCode()).isEqualTo(200);
    assertThat(HTTP.send(chat("other", ""), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(503);
    sim.override("other", SimModel.FAST);
    assertThat(HTTP.send(chat("other", ""), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
  }
}
