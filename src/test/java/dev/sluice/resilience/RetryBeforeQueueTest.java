package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.testing.TestGateway;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A failed attempt's own retry has the first claim on the concurrency slot it frees: a request
 * queued behind it must not take the slot and leave the retry with "no capacity".
 */
class RetryBeforeQueueTest {
  static final String YAML = """
      server: { port: 0, event_loops: 1 }
      store: { url: none }
      resilience: { retry: { max_attempts: 2, backoff: { base: 1ms, max: 1ms } }, breaker: { enabled: false } }
      admission: { concurrency: { algorithm: fixed, initial: 1, min: 1, max: 1 } }
      providers:
        sim: { type: sim }
      models:
        demo: { deployments: [{ provider: sim, model: m }] }
      """;

  @Test
  void theRetryKeepsTheSlotItsFailedAttemptFreed() throws Exception {
    try (TestGateway gw = TestGateway.start(YAML)) {
      HttpClient http = HttpClient.newHttpClient();
      // X fails once after 300 ms (503), while Y waits in the queue for the only slot
      String first = TestGateway.chat("\"sim\":{\"error_rate\":1,\"error_statuses\":[503],\"first_token\":\"1200ms\"}");
      CompletableFuture<HttpResponse<String>> x = http.sendAsync(req(gw, first), HttpResponse.BodyHandlers.ofString());
      await().atMost(Duration.ofSeconds(5)).until(() -> gw.ledger().attemptsInFlight() == 1);
      CompletableFuture<HttpResponse<String>> y = http.sendAsync(req(gw, TestGateway.chat(null)),
          HttpResponse.BodyHandlers.ofString());
      await().atMost(Duration.ofSeconds(5)).until(() -> gw.ledger().queued() == 1);
      HttpResponse<String> rx = x.get();
      // the retry ran (and failed the same way: the simulator is told to fail every call of X)
      assertThat(rx.headers().firstValue("x-sluice-attempts").orElse("")).startsWith("2 ");
      assertThat(rx.headers().firstValue("x-sluice-retry-skipped")).hasValue("max_attempts");
      assertThat(y.get().statusCode()).isEqualTo(200);
      gw.awaitAtRest();
    }
  }

  private static HttpRequest req(TestGateway gw, String body) {
    return HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
        .header("content-type", "application/json").timeout(Duration.ofSeconds(20))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
  }
}
