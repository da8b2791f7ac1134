package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.RawH2;
import dev.sluice.testing.TestGateway;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link Gateway#stop}: what a request still at the gateway's edge gets when the drain period ends. */
class DrainTest {

  @Test
  void aRequestStillSendingItsBodyWhenTheDrainEndsGetsA503NotACutBlamedOnTheClient() throws Exception {
    TestGateway gw = TestGateway.start(TestGateway.SIMPLE);
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", gw.gateway().port()), 5_000);
      s.setSoTimeout(60_000);
      String body = TestGateway.chat("");
      // the headers and half the body: a large prompt on a slow link
      String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + body.length() + "\r\n\r\n";
      s.getOutputStream().write((head + body.substring(0, body.length() / 2)).getBytes(StandardCharsets.UTF_8));
      s.getOutputStream().flush();
      await().atMost(Duration.ofSeconds(10)).until(() -> gw.ledger().requestsInFlight() == 1);

      long t0 = System.nanoTime();
      CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> gw.gateway().stop(Duration.ofMillis(300)));

      StringBuilder got = new StringBuilder();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[4096];
      try {
        for (int n; (n = in.read(buf)) > 0; ) {
          got.append(new String(buf, 0, n, StandardCharsets.UTF_8));
        }
      } catch (java.io.IOException e) {
        got.append("<").append(e).append(">");
      }
      stopped.get(60, TimeUnit.SECONDS);
      double stopSeconds = (System.nanoTime() - t0) / 1e9;

      RequestRecord r = gw.gateway().recent().latest(1).get(0);
      assertThat(got.toString()).as("what the client received (stop took %.1f s; recorded %s %s)", stopSeconds,
          r.status(), r.outcome()).startsWith("HTTP/1.1 503").contains("shutting_down");
      assertThat(r.outcome()).as("the gateway ended it, the client did not leave").isNotEqualTo(Outcome.CLIENT_CLOSED);
      assertThat(stopSeconds).as("the stop does not wait 10 s past its drain for it").isLessThan(5);
    }
  }

  @Test
  void anOpenDashboardDoesNotHoldTheStopPastItsDrain() throws Exception {
    TestGateway gw = TestGateway.start(TestGateway.SIMPLE);
    String ws = gw.baseUrl().replace("http://", "ws://") + "/admin/live";
    CompletableFuture<Integer> closed = new CompletableFuture<>();
    java.net.http.HttpClient.newHttpClient().newWebSocketBuilder()
        .buildAsync(java.net.URI.create(ws), new java.net.http.WebSocket.Listener() {
          @Override
          public java.util.concurrent.CompletionStage<?> onClose(java.net.http.WebSocket w, int code, String reason) {
            closed.complete(code);
            return null;
          }
        }).get(10, TimeUnit.SECONDS);

    long t0 = System.nanoTime();
    gw.gateway().stop(Duration.ofSeconds(1)); // nothing in flight: nothing to wait for
    double stopSeconds = (System.nanoTime() - t0) / 1e9;

    assertThat(closed.get(10, TimeUnit.SECONDS)).as("the dashboard was told the gateway went away").isNotNull();
    assertThat(stopSeconds).as("a dashboard left open does not add %d s to every stop", Gateway.CLOSE_WAIT_SECONDS)
        .isLessThan(5);
  }

  /** A stream of 12 tokens at 10 per second: in flight for about a second. */
  static final String SLOW_STREAM = "\"stream\":true,\"sim\":{\"tokens_per_second\":10,\"output_tokens\":12}";

  @Test
  void anHttp2StreamSentAsTheGoAwayArrivedDoesNotCutTheStreamsTheDrainLetsFinish() throws Exception {
    TestGateway gw = TestGateway.start(TestGateway.SIMPLE);
    try (RawH2 c = RawH2.connect(gw.gateway().port())) {
      RawH2.Stream inFlight = c.chat(1, TestGateway.chat(SLOW_STREAM));
      c.await(() -> inFlight.headers != null);
      // the client's next request was already on the wire when the gateway's GOAWAY reached it
      c.onGoAway = h2 -> {
        try {
          h2.chat(3, TestGateway.chat(null));
        } catch (java.io.IOException e) {
          throw new UncheckedIOException(e);
        }
      };
      CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> gw.gateway().stop(Duration.ofSeconds(30)));
      RawH2.Stream racing = c.stream(3);
      c.await(() -> (inFlight.closed() && racing.closed()) || c.eof);
      stopped.get(60, TimeUnit.SECONDS);

      assertThat(inFlight.ended).as("the stream in flight finished: %s", inFlight).isTrue();
      assertThat(inFlight.text()).contains("data: [DONE]");
      assertThat(racing.status()).as("the stream the client sent before it read the GOAWAY is served: %s", racing)
          .isEqualTo("200");
      List<RequestRecord> recs = gw.gateway().recent().latest(10);
      assertThat(recs).as("records").hasSize(2).allSatisfy(r -> assertThat(r.outcome()).isEqualTo(Outcome.SUCCESS));
    }
  }

  @Test
  void aStreamArrivingAsTheGatewayGoesAwayIsDrainedThoughNoneWasInFlightBefore() throws Exception {
    TestGateway gw = TestGateway.start(TestGateway.SIMPLE);
    try (RawH2 c = RawH2.connect(gw.gateway().port())) {
      RawH2.Stream warm = c.chat(1, TestGateway.chat(null));
      c.await(warm::closed);
      // nothing in flight when the stop begins; a request that never ends was on the wire
      c.onGoAway = h2 -> {
        try {
          h2.chat(3, TestGateway.chat("\"sim\":{\"hang_before_headers\":1}"));
        } catch (java.io.IOException e) {
          throw new UncheckedIOException(e);
        }
      };
      long t0 = System.nanoTime();
      gw.gateway().stop(Duration.ofSeconds(1));
      double stopSeconds = (System.nanoTime() - t0) / 1e9;
      RawH2.Stream late = c.stream(3);
      c.await(() -> late.closed() || c.eof);

      RequestRecord r = gw.gateway().recent().latest(1).get(0);
      assertThat(late.status()).as("the late stream, ended by the drain (stop took %.1f s; recorded %s %s): %s",
          stopSeconds, r.status(), r.outcome(), late).isEqualTo("503");
      assertThat(late.text()).contains("shutting_down");
      assertThat(r.outcome()).isEqualTo(Outcome.UNAVAILABLE);
    }
  }
}
