package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One bench request against a real gateway: its timeout runs from the intended send. */
class ExchangeTest {
  static TestGateway gw;
  static Vertx vertx;
  static HttpClient client;

  @BeforeAll
  static void start() {
    gw = TestGateway.start(TestGateway.SIMPLE);
    vertx = Vertx.vertx();
    client = vertx.createHttpClient();
  }

  @AfterAll
  static void stop() {
    client.close();
    vertx.close();
    gw.close();
  }

  /** Runs one exchange intended {@code lateNanos} ago with the given timeout; returns its recorder. */
  private static Recorder run(long lateNanos, long timeoutNanos) throws Exception {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST)
        .setAbsoluteURI(gw.baseUrl() + "/v1/chat/completions").putHeader("content-type", "application/json");
    Buffer body = Buffer.buffer("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    Recorder rec = new Recorder();
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    vertx.runOnContext(v -> new Exchange(vertx, client, options, body, false, System.nanoTime() - lateNanos,
        timeoutNanos, rec, System::nanoTime, done::complete).start());
    done.get(60, TimeUnit.SECONDS);
    return rec;
  }

  @Test
  void aRequestOnTimeIsSentAndAnswered() throws Exception {
    long before = gw.sim().stats().requests();
    Recorder rec = run(0, 30_000_000_000L);
    assertThat(rec.errors()).isEmpty();
    assertThat(rec.completedCount()).isEqualTo(1);
    assertThat(gw.sim().stats().requests()).isEqualTo(before + 1);
  }

  @Test
  void aRequestStartedAfterItsTimeoutFromTheIntendedSendIsGivenUpUnsent() throws Exception {
    long before = gw.sim().stats().requests();
    Recorder rec = run(2_000_000_000L, 1_000_000_000L);
    assertThat(rec.errors()).isEqualTo(Map.of("timeout", 1L));
    assertThat(rec.completedCount()).isZero();
    gw.awaitAtRest();
    assertThat(gw.sim().stats().requests()).isEqualTo(before);
  }
}
