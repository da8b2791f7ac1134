package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.provider.sim.SimStats;
import dev.sluice.telemetry.Ledger;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.AtRest;
import dev.sluice.testing.Calls;
import dev.sluice.testing.Calls.Call;
import dev.sluice.testing.RawClient;
import dev.sluice.testing.TestGateway;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that goes away, wherever its request is: waiting out a Retry-After, racing a hedge,
 * streaming, or queued for a slot. Everything it held is given back, the provider's exchanges are
 * closed, and nothing starts for it afterwards.
 */
class ClientGoneTest {
  @TempDir
  static Path dir;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    String profile = Calls.profile(dir, """
        defaults: { first_token: 10ms, tokens_per_second: 5000, max_output_tokens: 8 }
        models:
          waits: {}
          slow: { first_token: 3s }
          crawl: { tokens_per_second: 5, min_output_tokens: 40, max_output_tokens: 40 }
          narrow: {}
          narrow-fail: {}
        """);
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, profile: %s }
        resilience:
          budget: { ratio: 10, min_per_second: 1000 }
          breaker: { enabled: false }
        models:
          backing-off:
            deployments:
              - { id: w, provider: sim, model: waits }
          hedged:
            deployments:
              - { id: h1, provider: sim, model: slow }
              - { id: h2, provider: sim, model: slow }
            resilience: { hedge: { enabled: true, delay: 100ms } }
          streaming:
            deployments:
              - { id: c, provider: sim, model: crawl }
          narrow:
            deployments:
              - { id: n, provider: sim, model: narrow, max_concurrency: 1 }
        admission:
          concurrency: { algorithm: fixed, initial: 100 }
        """.formatted(profile));
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  @AfterEach
  void atRest() {
    AtRest.check(gw);
  }

  private static int ids;

  /** A request id of our own, so that its record can be found. */
  private static String id() {
    return "gone-" + (++ids);
  }

  @Test
  void goneWhileWaitingOutRetryAfterNoRetryStarts() {
    SimStats s = gw.sim().stats();
    Ledger l = gw.ledger();
    long before = s.requests("waits");
    String id = id();
    RawClient client = RawClient.send(gw, Calls.body("backing-off", "\"sim\":{\"rate_limit_rate\":1,\"retry_after\":2}"),
        "X-Request-Timeout: 10s", "X-Request-Id: " + id);
    // the 429 came back and the retry waits for Retry-After: a request in flight, no attempt
    await().atMost(Duration.ofSeconds(3)).until(() -> s.requests("waits") - before == 1
        && l.requestsInFlight() == 1 && l.attemptsInFlight() == 0 && l.timersArmed() >= 2);
    client.reset();
    gw.awaitAtRest();
    // the retry would have gone out 2 s after the 429: it never does
    await().during(Duration.ofMillis(2_500)).atMost(Duration.ofSeconds(3))
        .until(() -> s.requests("waits") - before == 1);
    RequestRecord r = Calls.record(gw, id);
    assertThat(r.outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(r.route()).isEqualTo("w:429");
  }

  @Test
  void goneDuringAHedgeBothUpstreamExchangesAreClosed() {
    SimStats s = gw.sim().stats();
    long before = s.requests("slow");
    long aborted = s.abortedByCaller();
    String id = id();
    RawClient client = RawClient.send(gw, Calls.body("hedged", null), "X-Request-Timeout: 10s", "X-Request-Id: " + id);
    await().atMost(Duration.ofSeconds(2)).until(() -> s.requests("slow") - before == 2);
    client.close();
    await().atMost(Duration.ofSeconds(2)).until(() -> s.abortedByCaller() - aborted == 2);
    gw.awaitAtRest();
    RequestRecord r = Calls.record(gw, id);
    assertThat(r.outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(r.hedged()).isTrue();
    assertThat(r.route()).contains("h1:cancelled").contains("h2:cancelled");
  }

  @Test
  void goneMidStreamTheProviderStreamIsClosed() {
    SimStats s = gw.sim().stats();
    long aborted = s.abortedByCaller();
    String id = id();
    RawClient client = RawClient.send(gw, Calls.body("streaming", "\"stream\":true"), "X-Request-Timeout: 30s",
        "X-Request-Id: " + id);
    client.readUntil("\"content\":\" ");
    client.reset();
    await().atMost(Duration.ofSeconds(2)).until(() -> s.abortedByCaller() - aborted == 1);
    gw.awaitAtRest();
    assertThat(Calls.record(gw, id).outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
  }

  @Test
  void goneWhileQueuedTheQueueEntryIsRemovedAndNothingReachesTheProvider() {
    SimStats s = gw.sim().stats();
    Ledger l = gw.ledger();
    long before = s.requests("narrow");
    // the one slot is held by a slow request; the next one waits in the queue
    RawClient holder = RawClient.send(gw, Calls.body("narrow", "\"sim\":{\"first_token\":\"3s\"}"), "X-Request-Timeout: 10s");
    await().atMost(Duration.ofSeconds(2)).until(() -> s.requests("narrow") - before == 1);
    RawClient waiter = RawClient.send(gw, Calls.body("narrow", null), "X-Request-Timeout: 10s");
    await().atMost(Duration.ofSeconds(2)).until(() -> l.queued() == 1);
    waiter.reset();
    await().atMost(Duration.ofSeconds(2)).until(() -> l.queued() == 0 && l.requestsInFlight() == 1);
    holder.reset();
    gw.awaitAtRest();
    assertThat(s.requests("narrow") - before).as("the queued request never reached the provider").isEqualTo(1);
  }

  @Test
  void aFailedAttemptsRetryKeepsTheSlotBeforeAQueuedRequest() throws Exception {
    SimStats s = gw.sim().stats();
    Ledger l = gw.ledger();
    long before = s.requests("narrow");
    // the first request fails after 100 ms; a second waits for the only slot meanwhile
    CompletableFuture<Call> failing = CompletableFuture.supplyAsync(() -> Calls.chat(gw,
        Calls.body("narrow", "\"sim\":{\"first_token\":\"400ms\",\"error_rate\":1,\"error_statuses\":[503]}"),
        "x-request-timeout", "10s"));
    await().atMost(Duration.ofSeconds(2)).until(() -> s.requests("narrow") - before == 1);
    CompletableFuture<Call> queued = CompletableFuture.supplyAsync(() -> Calls.chat(gw, Calls.body("narrow", null),
        "x-request-timeout", "10s"));
    Call q = queued.get();
    Call f = failing.get();
    assertThat(q.status()).as(q.toString()).isEqualTo(200);
    // the failed attempt's own retry had the first claim on the slot it gave back; the queued
    // request was served after it, never leaving the retry "without capacity"
    assertThat(f.status()).as(f.toString()).isEqualTo(503);
    assertThat(f.attempts()).isGreaterThanOrEqualTo(2);
    assertThat(f.header("x-sluice-retry-skipped")).isNotEqualTo("no_capacity");
    assertThat(l.queued()).isZero();
  }
}
