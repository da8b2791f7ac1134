package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.testing.Calls;
import dev.sluice.testing.Calls.Call;
import dev.sluice.testing.TestGateway;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The X-Request-Timeout sent upstream must not be larger than what is left of the deadline when
 * the provider gets the request. With one upstream connection, a second request waits for it.
 */
class ForwardedBudgetTest {
  static TestGateway gw;

  @BeforeAll
  static void start() {
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        store: { url: none }
        resilience: { retry: { max_attempts: 1 }, breaker: { enabled: false } }
        providers:
          sim:
            type: sim
            seed: 7
            max_connections: 1
            timeouts: { connect: 5s, first_byte: 10s, total: 20s }
        models:
          demo:
            deployments:
              - { id: sim-a, provider: sim, model: sim-fast }
        """);
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  @Test
  void theForwardedBudgetIsWhatIsLeftWhenTheRequestIsSent() throws Exception {
    // holds the only connection for 1.5 s from when the simulator has it
    long before = gw.sim().stats().requests();
    CompletableFuture<Call> holder = CompletableFuture.supplyAsync(() ->
        Calls.chat(gw, Calls.body("demo", "\"sim\":{\"first_token\":\"1500ms\",\"output_tokens\":1}")));
    await().atMost(Duration.ofSeconds(10)).until(() -> gw.sim().stats().requests() > before);
    // waits about 1.2 s for that connection, then is sent with what it had on arrival
    Call c = Calls.chat(gw, Calls.body("demo", "\"sim\":{\"first_token\":\"1ms\",\"output_tokens\":1}"),
        "x-request-timeout", "5s");
    assertThat(holder.get().status()).isEqualTo(200);
    assertThat(c.status()).as(c.toString()).isEqualTo(200);
    long forwarded = Long.parseLong(gw.sim().lastRequestTimeout().replace("ms", ""));
    assertThat(c.elapsedMillis()).as("it did wait for the connection").isGreaterThan(1000);
    assertThat(forwarded).as("forwarded %d ms, but %d ms had passed of 5 s", forwarded, c.elapsedMillis())
        .isLessThanOrEqualTo(5000 - 1000);
  }
}
