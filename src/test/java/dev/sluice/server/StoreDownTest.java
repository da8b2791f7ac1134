package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.testing.EmbeddedPg;
import dev.sluice.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A gateway whose request log lives in PostgreSQL keeps serving when PostgreSQL goes away: every
 * request still gets its answer, without waiting on the store; {@code /ready} and
 * {@code /admin/status} say the log is degraded; the dropped-record counter on {@code /metrics}
 * rises; and when PostgreSQL is back, records are written again.
 */
class StoreDownTest {
  /**
   * Requests must finish within this, which is below the store's 5 s connection timeout: a request
   * that waited on the store at all would miss it. A bound against hanging, not a speed figure.
   */
  private static final Duration NO_WAIT_ON_STORE = Duration.ofSeconds(4);

  private static EmbeddedPg pg;
  private static TestGateway gw;
  private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void start() {
    pg = EmbeddedPg.start();
    gw = onNewDatabase();
  }

  /** A gateway whose request log is a fresh database of the test's PostgreSQL: a buffer of 50, batches of 10. */
  private static TestGateway onNewDatabase() {
    return TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, seed: 7 }
        store: { url: "%s", buffer: 50, batch_size: 10 }
        models:
          demo:
            deployments:
              - { id: sim-a, provider: sim, model: sim-fast }
        """.formatted(pg.newDatabase()));
  }

  @AfterAll
  static void stop() {
    if (gw != null) {
      gw.close();
    }
    pg.close();
  }

  /** The simulator answers at once: what is left of a request's time is the gateway's. */
  private static final String QUICK =
      "\"sim\":{\"first_token\":\"1ms\",\"output_tokens\":4,\"tokens_per_second\":10000}";

  private static HttpResponse<String> chat(String extra) {
    try {
      return client.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
          .header("content-type", "application/json").timeout(NO_WAIT_ON_STORE)
          .POST(HttpRequest.BodyPublishers.ofString(TestGateway.chat(extra == null ? QUICK : QUICK + "," + extra)))
          .build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError("a request did not complete while the store was down: " + e, e);
    }
  }

  private static void traffic(int sequential, int concurrent) {
    for (int i = 0; i < sequential; i++) {
      HttpResponse<String> r = chat(i % 5 == 0 ? "\"stream\":true" : null);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
    for (int i = 0; i < concurrent; i++) {
      inFlight.add(client.sendAsync(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
          .header("content-type", "application/json").timeout(NO_WAIT_ON_STORE)
          .POST(HttpRequest.BodyPublishers.ofString(TestGateway.chat(QUICK))).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    for (CompletableFuture<HttpResponse<String>> f : inFlight) {
      assertThat(f.join().statusCode()).isEqualTo(200);
    }
  }

  private static String ready() {
    HttpResponse<String> r = gw.get("/ready");
    assertThat(r.statusCode()).isEqualTo(200); // a degraded log does not make the gateway unready
    JsonObject o = new JsonObject(r.body());
    assertThat(o.getString("status")).isEqualTo("ready");
    return o.getString("request_log");
  }

  private static double metric(String name) {
    String text = gw.get("/metrics").body();
    Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*\\})? ([0-9.eE+-]+)$").matcher(text);
    assertThat(m.find()).as(name + " on /metrics").isTrue();
    return Double.parseDouble(m.group(1));
  }

  @Test
  void theGatewayKeepsServingWhilePostgresIsDownAndSaysSo() {
    traffic(10, 0);
    await().atMost(Duration.ofSeconds(20)).until(() -> metric("sluice_request_log_written_total") >= 10);
    assertThat(ready()).isEqualTo("ok");
    assertThat(metric("sluice_request_log_dropped_total")).isZero();
    assertThat(metric("sluice_request_log_degraded")).isZero();

    pg.stop();
    try {
      traffic(100, 50);
      await().atMost(Duration.ofSeconds(30)).until(() -> ready().equals("degraded"));
      JsonObject status = new JsonObject(gw.get("/admin/status").body()).getJsonObject("request_log");
      assertThat(status.getBoolean("degraded")).isTrue();
      assertThat(status.getString("last_error")).isNotBlank();
      assertThat(status.getString("store")).startsWith("jdbc:postgresql://").doesNotContain("password");
      assertThat(metric("sluice_request_log_degraded")).isEqualTo(1.0);
      assertThat(metric("sluice_request_log_pending")).isLessThanOrEqualTo(50);

      double dropped = metric("sluice_request_log_dropped_total");
      assertThat(dropped).isPositive();
      traffic(200, 50);
      // the buffer holds 50 and a batch 10: of 250 more records at least 190 cannot wait anywhere
      await().atMost(Duration.ofSeconds(10)).until(() -> metric("sluice_request_log_dropped_total") >= dropped + 190);
      assertThat(metric("sluice_request_log_pending")).isLessThanOrEqualTo(50);
      assertThat(ready()).isEqualTo("degraded");

      // reading the log needs the store: a clear 503, not a hang
      HttpResponse<String> r = gw.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/admin/requests")).GET());
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(new JsonObject(r.body()).getJsonObject("error").getString("type")).isEqualTo("store_unavailable");
      // so does an export that cannot begin: an error the client can read, not a reset connection
      HttpResponse<String> e = gw.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/admin/requests/export"))
          .GET());
      assertThat(e.statusCode()).isEqualTo(503);
      assertThat(new JsonObject(e.body()).getJsonObject("error").getString("type")).isEqualTo("store_unavailable");
      HttpResponse<String> st = gw.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/admin/stats")).GET());
      assertThat(st.statusCode()).isEqualTo(503);
      // keys live in the same store: a key operation says that it is the keys that failed
      HttpResponse<String> k = gw.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/admin/keys")).GET());
      assertThat(k.statusCode()).isEqualTo(503);
      assertThat(new JsonObject(k.body()).getJsonObject("error").getString("message"))
          .startsWith("the keys could not be read");
      gw.awaitAtRest();
    } finally {
      pg.restart();
    }

    double written = metric("sluice_request_log_written_total");
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
      traffic(1, 0);
      return ready().equals("ok") && metric("sluice_request_log_written_total") > written;
    });
    assertThat(metric("sluice_request_log_degraded")).isZero();
    HttpResponse<String> after = gw.get("/admin/requests?limit=1");
    assertThat(after.statusCode()).isEqualTo(200);
    gw.awaitAtRest();
  }

  /**
   * The store comes back while no request comes: nothing is written that would clear the mark, but
   * /ready, /metrics and the dashboard must not go on saying the log is degraded (and its alert must
   * not stay raised) until the next request happens to come.
   */
  @Test
  void aLogDegradedByAnOutageIsOkAgainWhenPostgresIsBackEvenWithoutTraffic() {
    try (TestGateway idle = onNewDatabase()) {
      java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
      pg.stop();
      try {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
          HttpResponse<String> r = idle.post("/v1/chat/completions", TestGateway.chat(QUICK));
          assertThat(r.statusCode()).isEqualTo(200);
          sent.incrementAndGet();
          return new JsonObject(idle.get("/ready").body()).getString("request_log").equals("degraded");
        });
        // every record has been tried and dropped: none is left whose write would clear the mark
        await().atMost(Duration.ofSeconds(60)).until(() -> {
          JsonObject log = new JsonObject(idle.get("/admin/status").body()).getJsonObject("request_log");
          return log.getLong("dropped") == sent.get();
        });
      } finally {
        pg.restart();
      }
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() ->
          new JsonObject(idle.get("/ready").body()).getString("request_log").equals("ok"));
      assertThat(new JsonObject(idle.get("/admin/status").body()).getJsonObject("request_log").getBoolean("degraded"))
          .isFalse();
      idle.awaitAtRest();
    }
  }
}
