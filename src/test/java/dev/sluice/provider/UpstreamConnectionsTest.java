package dev.sluice.provider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.testing.TestGateway;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code sluice_upstream_connections}: the upstream pool's size as the pool opens and closes real
 * connections to a real HTTP server, which holds its answers until the test lets them go.
 */
class UpstreamConnectionsTest {
  private static final Pattern GAUGE = Pattern.compile("^sluice_upstream_connections\\{provider=\"up\"} (\\S+)$",
      Pattern.MULTILINE);
  private static final String ANSWER = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
      + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
      + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}";

  private final Vertx vertx = Vertx.vertx();
  private final ConcurrentLinkedQueue<HttpServerResponse> held = new ConcurrentLinkedQueue<>();
  private volatile boolean closeAfterAnswer;
  private HttpServer upstream;

  @AfterEach
  void stop() {
    vertx.close().await();
  }

  private TestGateway start() {
    upstream = vertx.createHttpServer()
        .requestHandler(r -> r.body().onSuccess(b -> held.add(r.response())))
        .listen(0, "127.0.0.1").await();
    return TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        resilience: { retry: { max_attempts: 1 } }
        providers:
          up: { type: openai, base_url: "http://127.0.0.1:%d/v1" }
        models:
          demo:
            deployments: [{ id: up-a, provider: up, model: m }]
        """.formatted(upstream.actualPort()));
  }

  /** Answers every held request, on the upstream server's own event loop. */
  private void answerAll() {
    Promise<Void> done = Promise.promise();
    vertx.runOnContext(v -> {
      HttpServerResponse r;
      while ((r = held.poll()) != null) {
        if (closeAfterAnswer) {
          r.putHeader("connection", "close");
        }
        r.putHeader("content-type", "application/json").end(ANSWER);
      }
      done.complete();
    });
    done.future().await();
  }

  private static double gauge(TestGateway g) {
    Matcher m = GAUGE.matcher(g.get("/metrics").body());
    assertThat(m.find()).as("sluice_upstream_connections for provider up").isTrue();
    return Double.parseDouble(m.group(1));
  }

  private static List<CompletableFuture<HttpResponse<String>>> send(TestGateway g, int n) {
    List<CompletableFuture<HttpResponse<String>>> out = new ArrayList<>();
    var client = java.net.http.HttpClient.newHttpClient();
    for (int i = 0; i < n; i++) {
      out.add(client.sendAsync(HttpRequest.newBuilder(URI.create(g.baseUrl() + "/v1/chat/completions"))
          .header("content-type", "application/json").timeout(Duration.ofSeconds(30))
          .POST(HttpRequest.BodyPublishers.ofString(TestGateway.chat(null))).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    return out;
  }

  /**
   * Sends {@code n} requests at once, checks the gauge counts one connection for each while the
   * upstream holds them, then lets them all be answered and checks every client got its 200.
   */
  private void holdCountAndAnswer(TestGateway g, int n) {
    var answers = send(g, n);
    await().atMost(Duration.ofSeconds(10)).until(() -> held.size() == n);
    assertThat(gauge(g)).isEqualTo(n);
    answerAll();
    for (var a : answers) {
      assertThat(a.join().statusCode()).isEqualTo(200);
    }
  }

  @Test
  void countsOneConnectionPerConcurrentRequestAndKeepsThemWhileTheyAreKeptAlive() {
    try (TestGateway g = start()) {
      assertThat(gauge(g)).isZero();
      holdCountAndAnswer(g, 3);
      // idle in the pool, not closed: still counted
      assertThat(gauge(g)).isEqualTo(3);
      g.awaitAtRest();
    }
  }

  @Test
  void aConnectionTheUpstreamClosesIsNoLongerCounted() {
    closeAfterAnswer = true;
    try (TestGateway g = start()) {
      holdCountAndAnswer(g, 2);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(gauge(g)).isZero());
      g.awaitAtRest();
    }
  }
}
