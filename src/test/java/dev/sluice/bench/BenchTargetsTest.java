package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The generator against a target written for each case, over real HTTP: how it counts answers that
 * are not clean successes, how it reads streams written differently from the simulator's, and that
 * a target that stalls for a second is charged for every request due during the stall.
 */
class BenchTargetsTest {
  private static final String SPACED_CHUNK = "data: {\"id\": \"c1\", \"choices\": [{\"index\": 0, \"delta\": "
      + "{\"content\": \"Hi\"}, \"finish_reason\": null}]}\n\n";
  private static final String CHUNK = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n";

  static Vertx vertx;
  static HttpServer server;
  /** For the stall case: nanoTime of the first request, and the answers held until the stall ends. */
  static final AtomicLong firstArrival = new AtomicLong(-1);

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().requestHandler(BenchTargetsTest::serve).listen(0, "127.0.0.1").await();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  private static void serve(HttpServerRequest req) {
    req.body().onSuccess(b -> {
      String mode = req.getHeader("x-mode");
      var resp = req.response();
      switch (mode) {
        case "spaced" -> resp.setChunked(true).putHeader("content-type", "text/event-stream")
            .end(SPACED_CHUNK + "data: [DONE]\n\n");
        case "no-done" -> resp.setChunked(true).putHeader("content-type", "text/event-stream").end(CHUNK + CHUNK);
        case "cut" -> {
          resp.setChunked(true).putHeader("content-type", "text/event-stream").write(CHUNK);
          vertx.setTimer(20, t -> req.connection().close());
        }
        case "error-event" -> resp.setChunked(true).putHeader("content-type", "text/event-stream")
            .end(CHUNK + "data: {\"error\":{\"message\":\"cut\"}}\n\ndata: [DONE]\n\n");
        case "500" -> resp.setStatusCode(500).end("{\"error\":{\"message\":\"no\"}}");
        case "hang" -> { } // never answers
        case "stall" -> {
          // answers at once, except that the second second of the run is one long pause: every
          // request that arrives during it is answered when it ends
          long now = System.nanoTime();
          firstArrival.compareAndSet(-1, now);
          long since = now - firstArrival.get();
          long stallFrom = 500_000_000L;
          long stallTo = 1_500_000_000L;
          String ok = "{\"choices\":[{\"message\":{\"content\":\"Hi\"}}]}";
          if (since >= stallFrom && since < stallTo) {
            vertx.setTimer(Math.max(1, (stallTo - since) / 1_000_000), t -> resp.end(ok));
          } else {
            resp.end(ok);
          }
        }
        default -> resp.setStatusCode(400).end();
      }
    });
  }

  private static JsonNode run(String mode, boolean stream, double rate, long durationNanos, long timeoutNanos)
      throws Exception {
    BenchSpec spec = new BenchSpec(URI.create("http://127.0.0.1:" + server.actualPort()), "m", rate, durationNanos, 0,
        stream, 256, 0, false, timeoutNanos, 1, mode, 0, null);
    return ResultJson.of(BenchRun.run(spec, Map.of("x-mode", mode), Progress.NONE));
  }

  @Test
  void aStreamWrittenWithSpacesAroundColonsHasFirstTokenTimes() throws Exception {
    JsonNode doc = run("spaced", true, 50, 400_000_000L, 30_000_000_000L);
    assertThat(doc.at("/counts/ok").asLong()).isEqualTo(20);
    assertThat(doc.at("/ttft_ms/count").asLong()).isEqualTo(20);
  }

  @Test
  void answersThatAreNotCleanSuccessesAreFailures() throws Exception {
    JsonNode noDone = run("no-done", true, 50, 200_000_000L, 30_000_000_000L);
    assertThat(noDone.at("/counts/ok").asLong()).isZero();
    assertThat(noDone.at("/errors/truncated").asLong()).isEqualTo(10);
    assertThat(noDone.path("success_rate").asDouble()).isZero();

    JsonNode cut = run("cut", true, 50, 200_000_000L, 30_000_000_000L);
    assertThat(cut.at("/counts/ok").asLong()).isZero();
    assertThat(cut.at("/counts/failed").asLong()).isEqualTo(10);
    assertThat(cut.at("/errors/truncated").asLong()).isEqualTo(10);

    JsonNode errorEvent = run("error-event", true, 50, 200_000_000L, 30_000_000_000L);
    assertThat(errorEvent.at("/counts/ok").asLong()).isZero();
    assertThat(errorEvent.at("/errors/stream_error").asLong()).isEqualTo(10);

    JsonNode status = run("500", false, 50, 200_000_000L, 30_000_000_000L);
    assertThat(status.at("/counts/ok").asLong()).isZero();
    assertThat(status.at("/errors/http_500").asLong()).isEqualTo(10);
    assertThat(status.at("/latency_ms/count").asLong()).isZero();
    assertThat(status.at("/failed_latency_ms/count").asLong()).isEqualTo(10);

    JsonNode hang = run("hang", false, 50, 200_000_000L, 500_000_000L);
    assertThat(hang.at("/counts/ok").asLong()).isZero();
    assertThat(hang.at("/errors/timeout").asLong()).isEqualTo(10);
    assertThat(hang.path("throughput_rps").asDouble()).isZero();
  }

  @Test
  void aStallIsChargedToEveryRequestDueDuringIt() throws Exception {
    // 100 requests over 2 s; the target is silent from 0.5 s to 1.5 s. Open loop, the ~50 requests due
    // in the stall keep being sent and wait from their own send time to its end: 0 to 1000 ms, spread
    // evenly, so the slowest tenth took 800 ms or more (more still when the cold generator is itself
    // late, which is charged too). A generator that waited for answers before sending more would show
    // one slow request, and p90 near zero.
    firstArrival.set(-1);
    JsonNode doc = run("stall", false, 50, 2_000_000_000L, 30_000_000_000L);
    assertThat(doc.at("/counts/sent").asLong()).isEqualTo(100);
    assertThat(doc.at("/counts/ok").asLong()).isEqualTo(100);
    assertThat(doc.at("/counts/max_in_flight").asLong()).isGreaterThanOrEqualTo(35);
    assertThat(doc.at("/latency_ms/p90").asDouble()).isGreaterThan(600);
    assertThat(doc.at("/latency_ms/p99").asDouble()).isGreaterThan(850);
  }
}
