package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.RawH2;
import dev.sluice.testing.TestGateway;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Clients that speak HTTP/2 to the gateway (h2c upgrade, as curl --http2 and the JDK client do). */
class Http2ClientTest {
  static TestGateway gw;

  @BeforeAll
  static void start() {
    gw = TestGateway.start(TestGateway.SIMPLE);
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  @Test
  void answeredRequestsAreRecordedAsAnsweredNotAsClientClosed() throws Exception {
    HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
    for (String extra : new String[] {null, "\"stream\":true"}) {
      HttpResponse<String> r = h2.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
          .header("content-type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(TestGateway.chat(extra))).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      String id = r.headers().firstValue("x-request-id").orElseThrow();
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
        RequestRecord rec = gw.gateway().recent().latest(20).stream().filter(x -> x.id().equals(id)).findFirst()
            .orElseThrow();
        assertThat(rec.outcome()).isEqualTo(Outcome.SUCCESS);
        assertThat(rec.status()).isEqualTo(200);
      });
    }
    gw.awaitAtRest();
  }

  @Test
  void aConnectWithoutPathIsRefusedNotLeftUnanswered() throws Exception {
    // an HTTP/2 CONNECT carries :authority but no :path (RFC 9113 8.5): the request's path is null
    try (RawH2 c = RawH2.connect(gw.gateway().port())) {
      c.headers(1, true, ":method", "CONNECT", ":authority", "127.0.0.1:443");
      RawH2.Stream s = c.stream(1);
      c.await(s::closed);
      assertThat(s.status()).as(s.toString()).isEqualTo("405");
      assertThat(s.text()).contains("\"code\":\"method_not_allowed\"");
      RawH2.Stream next = c.chat(3, TestGateway.chat(null));
      c.await(next::closed);
      assertThat(next.status()).as("the connection still serves").isEqualTo("200");
    }
    gw.awaitAtRest();
  }

  @Test
  void requestsTheRouterCannotReadAreRefusedInOpenAiShapeWithoutAnErrorLog() throws Exception {
    // RFC 9113 8.3.1 lets a request leave out :authority; Vert.x marks it unreadable, and a path
    // without its leading slash cannot be routed: both reach the router, which failed them
    String[][] requests = {
        {":method", "GET", ":scheme", "http", ":path", "/metrics"},
        {":method", "GET", ":scheme", "http", ":path", "/ui/"},
        {":method", "GET", ":scheme", "http", ":authority", "127.0.0.1", ":path", "metrics"},
    };
    try (ClientDisconnectTest.LogCapture logs = ClientDisconnectTest.LogCapture.of("io.vertx");
        RawH2 c = RawH2.connect(gw.gateway().port())) {
      int id = 1;
      for (String[] h : requests) {
        c.headers(id, true, h);
        RawH2.Stream s = c.stream(id);
        c.await(s::closed);
        assertThat(s.status()).as(String.join(" ", h)).startsWith("4");
        assertThat(s.header("content-type")).as(String.join(" ", h)).isEqualTo("application/json");
        assertThat(s.text()).as(String.join(" ", h)).contains("\"error\"");
        id += 2;
      }
      assertThat(logs.errors()).as("a client's malformed request is not the gateway's error").isEmpty();
    }
  }
}
