package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.testing.TestGateway;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The generator end to end against a real in-process gateway: counts and success, no timing. */
class BenchRunTest {
  static TestGateway gw;

  @BeforeAll
  static void start() {
    gw = TestGateway.start(TestGateway.SIMPLE);
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  private static BenchSpec spec(boolean stream, String model) {
    return new BenchSpec(URI.create(gw.baseUrl()), model, 40, 1_000_000_000L, 250_000_000L, stream, 64, 8, stream,
        30_000_000_000L, 2, "test");
  }

  @Test
  void nonStreamingRunCountsEveryRequest() throws Exception {
    BenchRun.Result r = BenchRun.run(spec(false, "demo"), Map.of(), Progress.NONE);
    JsonNode doc = ResultJson.of(r);
    assertThat(doc.at("/counts/scheduled").asLong()).isEqualTo(40);
    assertThat(doc.at("/counts/sent").asLong()).isEqualTo(40);
    assertThat(doc.at("/counts/ok").asLong()).isEqualTo(40);
    assertThat(doc.path("success_rate").asDouble()).isEqualTo(1.0);
    assertThat(doc.at("/latency_ms/count").asLong()).isEqualTo(40);
    assertThat(doc.has("ttft_ms")).isFalse();
    assertThat(doc.path("errors").size()).isZero();
    assertThat(ResultTable.render(doc)).contains("scheduled 40").contains("ok 40");
    gw.awaitAtRest();
  }

  @Test
  void streamingRunSeesDoneFirstTokensAndStampedChunks() throws Exception {
    BenchRun.Result r = BenchRun.run(spec(true, "demo"), Map.of(), Progress.NONE);
    JsonNode doc = ResultJson.of(r);
    assertThat(doc.at("/counts/ok").asLong()).isEqualTo(40);
    assertThat(doc.at("/ttft_ms/count").asLong()).isEqualTo(40);
    // max_tokens 8: every stream carries 8 stamped text chunks, relayed untouched by the gateway
    assertThat(doc.at("/chunk_delay_ms/count").asLong()).isEqualTo(40 * 8);
    gw.awaitAtRest();
  }

  @Test
  void selfWarmRequestsNeverReachTheTarget() throws Exception {
    long before = gw.sim().stats().requests();
    BenchSpec spec = new BenchSpec(URI.create(gw.baseUrl()), "demo", 40, 1_000_000_000L, 250_000_000L, true, 64, 8,
        true, 30_000_000_000L, 2, "test", 60, null);
    BenchRun.Result r = BenchRun.run(spec, Map.of(), Progress.NONE);
    JsonNode doc = ResultJson.of(r);
    assertThat(doc.path("self_warm").asInt()).isEqualTo(60);
    assertThat(ResultTable.render(doc)).contains("self-warm=60");
    assertThat(doc.at("/counts/ok").asLong()).isEqualTo(40);
    gw.awaitAtRest();
    // the warm-up at the run's rate (0.25 s of 40/s) reaches the target; the 60 self-warm requests do not
    assertThat(gw.sim().stats().requests() - before).isEqualTo(40 + 10);
  }

  @Test
  void failuresAreCountedByReason() throws Exception {
    BenchRun.Result r = BenchRun.run(spec(false, "no-such-model"), Map.of(), Progress.NONE);
    JsonNode doc = ResultJson.of(r);
    assertThat(doc.at("/counts/completed").asLong()).isEqualTo(40);
    assertThat(doc.at("/counts/ok").asLong()).isZero();
    assertThat(doc.at("/errors/http_404").asLong()).isEqualTo(40);
    assertThat(doc.path("success_rate").asDouble()).isZero();
  }
}
