package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.SseEvents;
import dev.sluice.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every guard and the deadline over real sockets, against the simulator. The machine is shared and
 * noisy: these tests check which guard fired and generous bounds (never early, never hanging);
 * exact timing is {@code AttemptGuardsTest}'s job. One attempt per request, so that each guard is
 * seen on its own; {@link #retriesStayWithinTheDeadline} covers the default retry policy.
 */
class GuardsOverHttpTest {
  static final String CONFIG = """
      server: { port: 0, event_loops: 1 }
      resilience: { retry: { max_attempts: 1 } }
      providers:
        sim:
          type: sim
          seed: 7
          timeouts: { connect: 1s, first_byte: 2s, first_token: 1s, idle: 500ms, total: 3s, stream_total: 10s }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast }
        demo-total:
          deployments:
            - id: sim-total
              provider: sim
              model: sim-fast
              timeouts: { first_byte: 1500ms, total: 1500ms, stream_total: 1500ms }
      """;

  static TestGateway gw;

  @BeforeAll
  static void start() {
    gw = TestGateway.start(CONFIG);
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  @AfterEach
  void atRest() {
    gw.awaitAtRest();
  }

  record Timed(HttpResponse<String> response, long millis) {
    int status() {
      return response.statusCode();
    }

    String body() {
      return response.body();
    }

    JsonObject error() {
      return new JsonObject(response.body()).getJsonObject("error");
    }

    String header(String name) {
      return response.headers().firstValue(name).orElse(null);
    }

    String requestId() {
      return header("x-request-id");
    }
  }

  static Timed post(TestGateway g, String model, String extra, String... headers) {
    String body = TestGateway.chat(extra).replace("\"model\":\"demo\"", "\"model\":\"" + model + "\"");
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(g.baseUrl() + "/v1/chat/completions"))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    long t0 = System.nanoTime();
    HttpResponse<String> r = g.send(b);
    return new Timed(r, (System.nanoTime() - t0) / 1_000_000);
  }

  static Timed post(String extra, String... headers) {
    return post(gw, "demo", extra, headers);
  }

  static RequestRecord record(Timed t) {
    return SseEvents.record(gw.gateway(), t.requestId());
  }

  // ------------------------------------------------------------------ guards before the commit point

  @Test
  void hangBeforeHeadersEndsInFirstByteTimeout() {
    long aborted = gw.sim().stats().abortedByCaller();
    Timed t = post("\"sim\":{\"hang_before_headers\":1}");
    assertThat(t.status()).isEqualTo(504);
    assertThat(t.error().getString("type")).isEqualTo("first_byte_timeout");
    assertThat(t.error().getString("code")).isEqualTo("timeout");
    assertThat(t.millis()).as("not before the 2 s guard").isGreaterThanOrEqualTo(2000).isLessThan(10_000);
    assertThat(t.header("x-sluice-deployment")).isEqualTo("sim-a");
    RequestRecord rec = record(t);
    assertThat(rec.outcome()).isEqualTo(Outcome.TIMEOUT);
    assertThat(rec.errorType()).isEqualTo("first_byte_timeout");
    assertThat(rec.status()).isEqualTo(504);
    awaitUpstreamAborted(aborted + 1);
  }

  @Test
  void slowFirstTokenOnAStreamEndsInFirstTokenTimeoutWithNothingCommitted() {
    // headers and the role-only chunk come at once; the first real token would take 5 s
    Timed t = post("\"stream\":true,\"sim\":{\"first_token\":\"5s\"}");
    assertThat(t.status()).isEqualTo(504);
    assertThat(t.header("content-type")).startsWith("application/json");
    assertThat(t.error().getString("type")).isEqualTo("first_token_timeout");
    assertThat(t.body()).doesNotContain("data:").doesNotContain("assistant");
    assertThat(t.millis()).isGreaterThanOrEqualTo(1000).isLessThan(10_000);
    assertThat(record(t).outcome()).isEqualTo(Outcome.TIMEOUT);
  }

  @Test
  void aStreamWhoseProviderNeverAnswersEndsInFirstTokenTimeout() {
    Timed t = post("\"stream\":true,\"sim\":{\"hang_before_headers\":1}");
    assertThat(t.status()).isEqualTo(504);
    assertThat(t.error().getString("type")).isEqualTo("first_token_timeout");
    assertThat(t.millis()).isGreaterThanOrEqualTo(1000).isLessThan(10_000);
  }

  @Test
  void aSlowNonStreamBeyondItsTotalEndsInTotalTimeout() {
    // demo-total: first_byte = total = 1.5 s, so the total is the guard that names the cause
    Timed t = post(gw, "demo-total", "\"sim\":{\"first_token\":\"5s\"}");
    assertThat(t.status()).isEqualTo(504);
    assertThat(t.error().getString("type")).isEqualTo("total_timeout");
    assertThat(t.millis()).isGreaterThanOrEqualTo(1500).isLessThan(10_000);
  }

  /** A provider address whose connects hang: a listening socket with a full accept queue (SYNs are dropped). */
  static final class Blackhole implements AutoCloseable {
    final ServerSocket server;
    final List<Socket> fillers = new ArrayList<>();

    Blackhole() throws IOException {
      server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
      for (int i = 0; i < 16; i++) {
        Socket s = new Socket();
        try {
          s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), 300);
          fillers.add(s);
        } catch (SocketTimeoutException full) {
          s.close();
          return;
        }
      }
      throw new IllegalStateException("the accept queue never filled");
    }

    String config(String connect) {
      return """
          server: { port: 0, event_loops: 1 }
          resilience: { retry: { max_attempts: 1 } }
          providers:
            hole:
              type: openai
              base_url: http://127.0.0.1:%d/v1
              timeouts: { connect: %s, first_byte: 5s, first_token: 5s, idle: 1s, total: 6s, stream_total: 6s }
          models:
            demo:
              deployments: [{ id: hole-a, provider: hole, model: m }]
          """.formatted(server.getLocalPort(), connect);
    }

    @Override
    public void close() throws IOException {
      for (Socket s : fillers) {
        s.close();
      }
      server.close();
    }
  }

  @Test
  void aConnectionThatCannotBeEstablishedEndsInConnectTimeout() throws IOException {
    try (Blackhole hole = new Blackhole(); TestGateway g = TestGateway.start(hole.config("300ms"))) {
      Timed t = post(g, "demo", null);
      assertThat(t.status()).as(t.body()).isEqualTo(504);
      assertThat(t.error().getString("type")).isEqualTo("connect_timeout");
      assertThat(t.error().getString("message")).contains("300ms");
      assertThat(t.millis()).isGreaterThanOrEqualTo(300).isLessThan(10_000);
      g.awaitAtRest();
    }
  }

  @ParameterizedTest(name = "budget {0}")
  @CsvSource({"300ms", "777ms", "1s"})
  void aDeadlineShorterThanConnectIsNamedAsTheDeadlineNotAsAConnectFailure(String budget) throws IOException {
    try (Blackhole hole = new Blackhole(); TestGateway g = TestGateway.start(hole.config("3s"))) {
      for (int i = 0; i < 3; i++) {
        Timed t = post(g, "demo", null, "X-Request-Timeout", budget);
        assertThat(t.status()).as(t.body()).isEqualTo(504);
        assertThat(t.error().getString("type")).as(t.body()).isEqualTo("deadline_exceeded");
        assertThat(t.millis()).isLessThan(2900);
      }
      g.awaitAtRest();
    }
  }

  @Test
  void aDeploymentsOwnConnectGuardIsHonouredOverItsProvidersDefault() throws IOException {
    try (Blackhole hole = new Blackhole()) {
      String yaml = hole.config("300ms").replace("[{ id: hole-a, provider: hole, model: m }]",
          "[{ id: hole-a, provider: hole, model: m, timeouts: { connect: 1500ms } }]");
      try (TestGateway g = TestGateway.start(yaml)) {
        Timed t = post(g, "demo", null);
        assertThat(t.status()).as(t.body()).isEqualTo(504);
        assertThat(t.error().getString("type")).as(t.body()).isEqualTo("connect_timeout");
        assertThat(t.millis()).as("the deployment's 1.5 s, not the provider's 300 ms").isGreaterThanOrEqualTo(1500);
        g.awaitAtRest();
      }
    }
  }

  @Test
  void aPoolSlotHeldByAHangingAttemptIsGivenBackWhenItsGuardFires() throws Exception {
    String yaml = """
        server: { port: 0, event_loops: 1 }
        resilience: { retry: { max_attempts: 1 } }
        providers:
          sim:
            type: sim
            seed: 7
            max_connections: 1
            timeouts: { connect: 500ms, first_byte: 1500ms, first_token: 1500ms, idle: 1s, total: 3s, stream_total: 3s }
        models:
          demo: { deployments: [{ id: sim-a, provider: sim, model: sim-fast }] }
        """;
    try (TestGateway g = TestGateway.start(yaml)) {
      long seen = g.sim().stats().requests();
      var hanging = java.util.concurrent.CompletableFuture.supplyAsync(
          () -> post(g, "demo", "\"sim\":{\"hang_before_headers\":1}"));
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> g.sim().stats().requests() > seen);
      // the only connection is taken: the next request cannot get one within its connect guard
      Timed starved = post(g, "demo", null);
      assertThat(starved.status()).as(starved.body()).isEqualTo(504);
      assertThat(starved.error().getString("type")).isEqualTo("connect_timeout");
      assertThat(starved.millis()).isGreaterThanOrEqualTo(500).isLessThan(1500);

      Timed hung = hanging.get(20, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(hung.error().getString("type")).isEqualTo("first_byte_timeout");
      // the slot came back with the reset of the hanging exchange
      Timed after = post(g, "demo", null);
      assertThat(after.status()).as(after.body()).isEqualTo(200);
      g.awaitAtRest();
    }
  }

  @Test
  void aBodyThatDoesNotArriveWithinTheClientsBudgetIs408AndReleased() throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), gw.gateway().port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
          + "X-Request-Timeout: 300ms\r\nContent-Length: 100\r\n\r\n{\"model\":").getBytes(
              java.nio.charset.StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      long t0 = System.nanoTime();
      String response = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertThat(response).startsWith("HTTP/1.1 408").contains("request_timeout");
      assertThat(ms).as("the connection is closed right after the answer").isLessThan(10_000);
    }
  }

  // ------------------------------------------------------------------ guards after the commit point

  @Test
  void aStreamThatStallsAfterSomeTokensEndsWithAnIdleTimeoutEvent() {
    long aborted = gw.sim().stats().abortedByCaller();
    Timed t = post("\"stream\":true,\"sim\":{\"hang_mid_stream\":1,\"output_tokens\":20,\"first_token\":\"10ms\"}");
    assertThat(t.status()).isEqualTo(200);
    assertThat(t.header("content-type")).startsWith("text/event-stream");
    assertThat(SseEvents.chatText(t.body())).as("some tokens were relayed").isNotEmpty();
    assertThat(t.body()).doesNotContain("[DONE]");
    JsonObject error = SseEvents.lastError(t.body());
    assertThat(error).as("the last event is an error: %s", t.body()).isNotNull();
    assertThat(error.getString("type")).isEqualTo("idle_timeout");
    assertThat(error.getString("code")).isEqualTo("stream_truncated");
    assertThat(t.millis()).isGreaterThanOrEqualTo(500).isLessThan(10_000);
    RequestRecord rec = record(t);
    assertThat(rec.outcome()).isEqualTo(Outcome.TRUNCATED);
    assertThat(rec.errorType()).isEqualTo("idle_timeout");
    awaitUpstreamAborted(aborted + 1);
  }

  @Test
  void aStreamLongerThanItsStreamTotalEndsWithATotalTimeoutEvent() {
    // 100 tokens at 10 per second would take 10 s; the deployment's stream_total is 1.5 s
    Timed t = post(gw, "demo-total",
        "\"stream\":true,\"sim\":{\"output_tokens\":100,\"tokens_per_second\":10,\"first_token\":\"10ms\"}");
    assertThat(t.status()).isEqualTo(200);
    assertThat(t.body()).doesNotContain("[DONE]");
    assertThat(SseEvents.lastError(t.body()).getString("type")).isEqualTo("total_timeout");
    assertThat(t.millis()).isGreaterThanOrEqualTo(1500).isLessThan(10_000);
  }

  @Test
  void aSlowClientDoesNotTripTheIdleGuard() throws Exception {
    // the provider has megabytes to send at once; the client stops reading for four idle periods.
    // The gateway stops reading the provider (backpressure) and must not blame it for the silence.
    String body = TestGateway.chat("\"stream\":true,\"sim\":{\"first_token\":\"10ms\","
        + "\"tokens_per_second\":1000000,\"output_tokens\":60000}");
    byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    try (Socket s = new Socket()) {
      s.setReceiveBufferSize(4096);
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), gw.gateway().port()));
      s.setSoTimeout(20_000);
      s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      s.getOutputStream().write(bytes);
      s.getOutputStream().flush();
      java.io.InputStream in = s.getInputStream();
      byte[] buf = new byte[64 * 1024];
      int first = in.read(buf);
      assertThat(new String(buf, 0, first, java.nio.charset.StandardCharsets.UTF_8)).startsWith("HTTP/1.1 200");
      Thread.sleep(2000); // the behaviour under test: a client that does not read
      java.io.ByteArrayOutputStream rest = new java.io.ByteArrayOutputStream();
      String tail = "";
      for (int n; !tail.endsWith("0\r\n\r\n") && (n = in.read(buf)) >= 0; ) {
        rest.write(buf, 0, n);
        tail = new String(buf, Math.max(0, n - 16), Math.min(n, 16), java.nio.charset.StandardCharsets.ISO_8859_1);
      }
      String all = rest.toString(java.nio.charset.StandardCharsets.UTF_8);
      assertThat(all.length()).as("the stream was far larger than the socket buffers").isGreaterThan(4_000_000);
      assertThat(all).doesNotContain("idle_timeout").contains("data: [DONE]");
    }
  }

  @Test
  void anUpstreamResetMidStreamEndsWithAStreamTruncatedEvent() {
    Timed t = post("\"stream\":true,\"sim\":{\"reset_mid_stream\":1,\"output_tokens\":20,\"first_token\":\"10ms\"}");
    assertThat(t.status()).isEqualTo(200);
    assertThat(t.body()).doesNotContain("[DONE]");
    assertThat(SseEvents.chatText(t.body())).isNotEmpty();
    JsonObject error = SseEvents.lastError(t.body());
    assertThat(error).as(t.body()).isNotNull();
    assertThat(error.getString("code")).isEqualTo("stream_truncated");
    assertThat(error.getString("type")).isEqualTo("upstream_error");
    assertThat(record(t).outcome()).isEqualTo(Outcome.TRUNCATED);
  }

  @Test
  void aHealthyStreamEndsWithDoneAndNoError() {
    Timed t = post("\"stream\":true,\"sim\":{\"output_tokens\":10}");
    assertThat(t.status()).isEqualTo(200);
    assertThat(SseEvents.last(t.body())).isEqualTo("[DONE]");
    assertThat(t.body()).doesNotContain("\"error\"");
    assertThat(record(t).outcome()).isEqualTo(Outcome.SUCCESS);
  }

  // ------------------------------------------------------------------ the request's deadline

  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource({
      "X-Request-Timeout, 300ms, client_header",
      "grpc-timeout, 300m, client_header",
      "body, 0.3, client_body",
  })
  void aClientBudgetEndsTheRequestInDeadlineExceeded(String where, String value, String source) {
    String extra = "\"sim\":{\"hang_before_headers\":1}";
    Timed t = where.equals("body")
        ? post(extra + ",\"timeout\":" + value)
        : post(extra, where, value);
    assertThat(t.status()).isEqualTo(504);
    assertThat(t.error().getString("type")).isEqualTo("deadline_exceeded");
    assertThat(t.error().getString("message")).contains("300ms").contains(source);
    assertThat(t.millis()).as("the deadline, not the 2 s first-byte guard")
        .isGreaterThanOrEqualTo(300).isLessThan(1900);
    RequestRecord rec = record(t);
    assertThat(rec.outcome()).isEqualTo(Outcome.TIMEOUT);
    assertThat(rec.errorType()).isEqualTo("deadline_exceeded");
    assertThat(rec.deadlineMs()).isEqualTo(300.0);
  }

  @Test
  void theTighterOfTwoClientHeadersBinds() {
    Timed t = post("\"sim\":{\"hang_before_headers\":1}", "X-Request-Timeout", "5s", "grpc-timeout", "400m");
    assertThat(t.error().getString("type")).isEqualTo("deadline_exceeded");
    assertThat(t.millis()).isGreaterThanOrEqualTo(400).isLessThan(1900);
  }

  @Test
  void aStreamCutByTheDeadlineAfterCommitEndsWithADeadlineEvent() {
    Timed t = post("\"stream\":true,\"sim\":{\"output_tokens\":100,\"tokens_per_second\":10,\"first_token\":\"10ms\"}",
        "X-Request-Timeout", "1s");
    assertThat(t.status()).isEqualTo(200);
    assertThat(SseEvents.chatText(t.body())).isNotEmpty();
    assertThat(t.body()).doesNotContain("[DONE]");
    JsonObject error = SseEvents.lastError(t.body());
    assertThat(error).as(t.body()).isNotNull();
    assertThat(error.getString("type")).isEqualTo("deadline_exceeded");
    assertThat(error.getString("code")).isEqualTo("stream_truncated");
    assertThat(t.millis()).isGreaterThanOrEqualTo(1000).isLessThan(10_000);
    RequestRecord rec = record(t);
    assertThat(rec.outcome()).isEqualTo(Outcome.TRUNCATED);
    assertThat(rec.errorType()).isEqualTo("deadline_exceeded");
  }

  @Test
  void theRemainingBudgetIsForwardedUpstream() {
    Timed t = post((String) null, "X-Request-Timeout", "5s");
    assertThat(t.status()).isEqualTo(200);
    String forwarded = gw.sim().lastRequestTimeout();
    assertThat(forwarded).matches("\\d+ms");
    long ms = Long.parseLong(forwarded.replace("ms", ""));
    assertThat(ms).as("what is left of the client's 5 s").isLessThanOrEqualTo(5000).isGreaterThan(3000);

    post((String) null);
    forwarded = gw.sim().lastRequestTimeout();
    assertThat(Long.parseLong(forwarded.replace("ms", ""))).as("the tier's 30 s").isLessThanOrEqualTo(30_000)
        .isGreaterThan(25_000);
  }

  @Test
  void withoutSkipTheTierDeadlineBinds() {
    String yaml = """
        server: { port: 0, event_loops: 1 }
        resilience: { retry: { max_attempts: 1 } }
        deadline: { tiers: { inference: 500ms } }
        providers:
          sim: { type: sim, seed: 7 }
        models:
          demo: { deployments: [{ id: sim-a, provider: sim, model: sim-fast }] }
        """;
    try (TestGateway g = TestGateway.start(yaml)) {
      Timed t = post(g, "demo", "\"sim\":{\"first_token\":\"1s\"}");
      assertThat(t.status()).isEqualTo(504);
      assertThat(t.error().getString("type")).isEqualTo("deadline_exceeded");
      assertThat(t.error().getString("message")).contains("tier");
      assertThat(t.millis()).isGreaterThanOrEqualTo(500).isLessThan(10_000);
      g.awaitAtRest();
    }
  }

  @Test
  void skipModeLiftsTierAndCapButAClientBudgetStillBinds() {
    String yaml = """
        server: { port: 0, event_loops: 1 }
        resilience: { retry: { max_attempts: 1 } }
        deadline: { skip: true, cap: 1s, tiers: { info: 500ms, inference: 500ms, inference_stream: 500ms, files: 1s, workflows: 1s } }
        providers:
          sim:
            type: sim
            seed: 7
            timeouts: { connect: 1s, first_byte: 3s, first_token: 3s, idle: 1s, total: 5s, stream_total: 5s }
        models:
          demo: { deployments: [{ id: sim-a, provider: sim, model: sim-fast }] }
        """;
    try (TestGateway g = TestGateway.start(yaml)) {
      // 1.5 s is beyond the tier (500 ms) and the cap (1 s): skip lifts both
      Timed ok = post(g, "demo", "\"sim\":{\"first_token\":\"1500ms\"}");
      assertThat(ok.status()).as(ok.body()).isEqualTo(200);
      assertThat(g.sim().lastRequestTimeout()).as("no budget to forward").isNull();
      RequestRecord rec = SseEvents.record(g.gateway(), ok.requestId());
      assertThat(rec.deadlineMs()).isEqualTo(-1.0);

      Timed bound = post(g, "demo", "\"sim\":{\"hang_before_headers\":1}", "X-Request-Timeout", "300ms");
      assertThat(bound.status()).isEqualTo(504);
      assertThat(bound.error().getString("type")).isEqualTo("deadline_exceeded");
      assertThat(bound.millis()).isGreaterThanOrEqualTo(300).isLessThan(2900);
      assertThat(g.sim().lastRequestTimeout()).matches("\\d+ms");
      assertThat(Long.parseLong(g.sim().lastRequestTimeout().replace("ms", ""))).isLessThanOrEqualTo(300);

      // the guards still hold in skip mode
      Timed guarded = post(g, "demo", "\"sim\":{\"hang_before_headers\":1}");
      assertThat(guarded.error().getString("type")).isEqualTo("first_byte_timeout");
      g.awaitAtRest();
    }
  }

  @Test
  void aRequestWhoseDeadlinePassesWhileQueuedEndsInDeadlineExceeded() throws Exception {
    try (TestGateway g = TestGateway.start(ClientDisconnectTest.QUEUE_CONFIG)) {
      List<ClientDisconnectTest.RawClient> holders = ClientDisconnectTest.fillToTheQueue(g);
      holders.remove(holders.size() - 1).close(); // the deployment is now exactly full
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> g.ledger().queued() == 0);
      long reached = g.sim().stats().requests();
      Timed queued = post(g, "demo", null, "X-Request-Timeout", "500ms");
      assertThat(queued.status()).as(queued.body()).isEqualTo(504);
      assertThat(queued.error().getString("type")).isEqualTo("deadline_exceeded");
      assertThat(queued.millis()).isGreaterThanOrEqualTo(500).isLessThan(5000);
      assertThat(g.ledger().queued()).isZero();
      assertThat(g.sim().stats().requests()).as("the queued request never reached the provider").isEqualTo(reached);
      for (ClientDisconnectTest.RawClient h : holders) {
        h.close();
      }
      g.awaitAtRest();
    }
  }

  @Test
  void retriesStayWithinTheDeadline() {
    // the default policy retries a first-byte timeout; the client's 2.5 s bound every attempt together
    String yaml = """
        server: { port: 0, event_loops: 1 }
        providers:
          sim:
            type: sim
            seed: 7
            timeouts: { connect: 500ms, first_byte: 1s, first_token: 1s, idle: 1s, total: 2s, stream_total: 2s }
        models:
          demo: { deployments: [{ id: sim-a, provider: sim, model: sim-fast }] }
        """;
    try (TestGateway g = TestGateway.start(yaml)) {
      long seen = g.sim().stats().requests();
      Timed t = post(g, "demo", "\"sim\":{\"hang_before_headers\":1}", "X-Request-Timeout", "2500ms");
      assertThat(t.status()).as(t.body()).isEqualTo(504);
      assertThat(t.error().getString("type")).isIn("first_byte_timeout", "deadline_exceeded");
      // "3 (sim-a:first_byte_timeout, sim-a:first_byte_timeout, sim-a:cancelled)"
      int attempts = Integer.parseInt(t.header("x-sluice-attempts").split(" ")[0]);
      assertThat(attempts).as(t.header("x-sluice-attempts")).isGreaterThanOrEqualTo(2);
      assertThat(g.sim().stats().requests() - seen).isEqualTo(attempts);
      assertThat(t.millis()).as("never past the client's budget, however many attempts")
          .isGreaterThanOrEqualTo(2000).isLessThan(2500 + 1500);
      RequestRecord rec = SseEvents.record(g.gateway(), t.requestId());
      assertThat(rec.attempts()).isGreaterThanOrEqualTo(2);
      g.awaitAtRest();
    }
  }

  @ParameterizedTest(name = "stream={0}")
  @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
  void theLosingHedgeIsCancelledAndReleased(boolean stream, @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws IOException {
    java.nio.file.Path profile = dir.resolve("sim.yaml");
    java.nio.file.Files.writeString(profile, """
        seed: 1
        defaults: { first_token: 10ms, tokens_per_second: 1000, output_tokens: 8 }
        models:
          slow: { first_token: 8s }
          fast: { first_token: 10ms }
        """);
    String yaml = """
        server: { port: 0, event_loops: 1 }
        resilience: { hedge: { enabled: true, delay: 200ms } }
        providers:
          sim: { type: sim, profile: %s }
        models:
          demo:
            deployments:
              - { id: slow, provider: sim, model: slow, weight: 1000000 }
              - { id: fast, provider: sim, model: fast, weight: 1 }
        """.formatted(profile);
    try (TestGateway g = TestGateway.start(yaml)) {
      long aborted = g.sim().stats().abortedByCaller();
      Timed t = post(g, "demo", stream ? "\"stream\":true" : null);
      assertThat(t.status()).as(t.body()).isEqualTo(200);
      assertThat(t.header("x-sluice-deployment")).isEqualTo("fast");
      assertThat(t.header("x-sluice-attempts")).startsWith("2");
      assertThat(t.millis()).as("the hedge answered, not the slow attempt").isGreaterThanOrEqualTo(200).isLessThan(8000);
      if (stream) {
        assertThat(SseEvents.last(t.body())).isEqualTo("[DONE]");
      }
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(g.sim().stats().abortedByCaller()).as("the slow attempt was given up upstream").isEqualTo(aborted + 1));
      assertThat(SseEvents.record(g.gateway(), t.requestId()).outcome()).isEqualTo(Outcome.SUCCESS);
      g.awaitAtRest();
    }
  }

  // ------------------------------------------------------------------ provider errors pass through

  @Test
  void aProviderErrorIsPassedThroughWithItsStatusAndBody() {
    Timed t = post("\"sim\":{\"error_rate\":1,\"error_statuses\":[503]}");
    assertThat(t.status()).isEqualTo(503);
    assertThat(t.header("x-sluice-upstream-status")).isEqualTo("503");
    assertThat(t.header("x-sluice-deployment")).isEqualTo("sim-a");
    JsonObject error = t.error();
    assertThat(error.getString("message")).isEqualTo("simulated failure");
    assertThat(error.getString("type")).isEqualTo("server_error");
    RequestRecord rec = record(t);
    assertThat(rec.outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
    assertThat(rec.status()).isEqualTo(503);
  }

  @Test
  void aProviderErrorOnAStreamIsPassedThroughBeforeCommit() {
    Timed t = post("\"stream\":true,\"sim\":{\"error_rate\":1,\"error_statuses\":[500]}");
    assertThat(t.status()).isEqualTo(500);
    assertThat(t.header("x-sluice-upstream-status")).isEqualTo("500");
    assertThat(t.error().getString("message")).isEqualTo("simulated failure");
  }

  @Test
  void aRateLimitIsPassedThroughWithRetryAfter() {
    Timed t = post("\"sim\":{\"rate_limit_rate\":1,\"retry_after\":7}");
    assertThat(t.status()).isEqualTo(429);
    assertThat(t.header("retry-after")).isEqualTo("7");
    assertThat(t.header("x-ratelimit-remaining-requests")).isEqualTo("0");
    assertThat(t.header("x-sluice-upstream-status")).isEqualTo("429");
    assertThat(t.error().getString("code")).isEqualTo("rate_limit_exceeded");
  }

  private static void awaitUpstreamAborted(long atLeast) {
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(gw.sim().stats().abortedByCaller())
            .as("the simulator saw the gateway give the exchange up").isGreaterThanOrEqualTo(atLeast));
  }
}
