package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.provider.sim.SimStats;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.AtRest;
import dev.sluice.testing.Calls;
import dev.sluice.testing.Calls.Call;
import dev.sluice.testing.TestGateway;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Nothing starts after the deadline, and nothing outlives it. */
class DeadlineFaultTest {
  @TempDir
  static Path dir;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    // "late503" fails with 503 a quarter of its first-token time after the request: 100 ms
    String profile = Calls.profile(dir, """
        defaults: { first_token: 10ms, tokens_per_second: 5000, max_output_tokens: 8 }
        models:
          late503: { first_token: 400ms, error_rate: 1, error_statuses: [503] }
          crawl: { first_token: 10ms, tokens_per_second: 5, min_output_tokens: 40, max_output_tokens: 40 }
          once503: { first_token: 400ms, error_rate: 1, error_statuses: [503] }
          fast: {}
        """);
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, profile: %s }
        resilience:
          budget: { ratio: 10, min_per_second: 1000 }
          breaker: { enabled: false }
          retry: { max_attempts: 20, backoff: { base: 1ms, max: 5ms } }
        models:
          warm-up:
            deployments:
              - { id: w, provider: sim, model: fast }
          retries-forever:
            deployments:
              - { id: r1, provider: sim, model: late503 }
              - { id: r2, provider: sim, model: late503 }
          crawling:
            deployments:
              - { id: crawl, provider: sim, model: crawl }
          needs-time:
            deployments:
              - { id: n1, provider: sim, model: once503 }
              - { id: n2, provider: sim, model: once503 }
            resilience: { retry: { min_useful_time: 300ms } }
        """.formatted(profile));
    // the first requests of a fresh JVM load classes on the event loop: not what these tests time
    for (int i = 0; i < 20; i++) {
      Calls.chat(gw, Calls.body("warm-up", i % 2 == 0 ? "\"stream\":true" : null));
    }
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  @AfterEach
  void atRest() {
    AtRest.check(gw);
  }

  @Test
  void retriesStopAtTheDeadlineAndNoAttemptStartsAfterIt() throws Exception {
    SimStats s = gw.sim().stats();
    long before = s.requests("late503");
    SplittableRandom rnd = new SplittableRandom(3);
    int n = 40;
    List<Long> deadlines = new ArrayList<>();
    List<Future<Call>> calls = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (int i = 0; i < n; i++) {
      long ms = 150 + rnd.nextLong(500);
      deadlines.add(ms);
      calls.add(pool.submit(() -> Calls.chat(gw, Calls.body("retries-forever", null), "x-request-timeout", ms + "ms")));
    }
    long attempts = 0;
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Call c = calls.get(i).get();
      ids.add(c.header("x-request-id"));
      long deadline = deadlines.get(i);
      // every attempt fails after 100 ms: the deadline ends the request, not max_attempts; either
      // it fires during an attempt (504), or too little is left to start one (the last 503, and why)
      if (c.status() == 504) {
        assertThat(c.body()).contains("deadline_exceeded");
        assertThat(c.hops().get(c.hops().size() - 1)).endsWith(":cancelled");
      } else {
        assertThat(c.status()).as(c.toString()).isEqualTo(503);
        assertThat(c.header("x-sluice-retry-skipped")).as(c.toString()).isEqualTo("deadline");
      }
      assertThat(c.elapsedMillis()).as("deadline %d ms: %s", deadline, c).isLessThan(deadline + 1_000);
      // one attempt per 100 ms that fit before the deadline, and no more
      assertThat(c.attempts()).as("deadline %d ms: %s", deadline, c).isBetween(1, (int) (deadline / 100) + 1);
      attempts += c.attempts();
    }
    pool.shutdown();
    // what the provider saw is what the client was told, and nothing arrives later
    assertThat(s.requests("late503") - before).isEqualTo(attempts);
    gw.awaitAtRest();
    Thread.sleep(300); // a late attempt would have to show up now: there is no event to wait for
    assertThat(s.requests("late503") - before).isEqualTo(attempts);
    // the gateway's own records: every request ended within its deadline plus a little
    List<RequestRecord> records = ids.stream().map(id -> Calls.record(gw, id)).toList();
    assertThat(records).hasSize(n).allSatisfy(r -> {
      assertThat(r.model()).isEqualTo("retries-forever");
      assertThat(r.outcome()).isIn(Outcome.TIMEOUT, Outcome.UPSTREAM_ERROR);
      assertThat(r.latencyMs()).as("record %s", r).isLessThanOrEqualTo(r.deadlineMs() + 250);
      if (r.outcome() == Outcome.TIMEOUT) {
        assertThat(r.latencyMs()).isGreaterThanOrEqualTo(r.deadlineMs());
      }
    });
  }

  @Test
  void aCommittedStreamIsCutAtTheDeadlineWithAnErrorEvent() {
    SimStats s = gw.sim().stats();
    long aborted = s.abortedByCaller();
    Call c = Calls.chat(gw, Calls.body("crawling", "\"stream\":true"), "x-request-timeout", "1s");
    assertThat(c.status()).isEqualTo(200);
    List<String> events = Calls.events(c.body());
    assertThat(events.stream().filter(e -> e.contains("\"content\":\" ")).count()).isBetween(1L, 10L);
    assertThat(events.get(events.size() - 1)).startsWith("{\"error\":").contains("deadline_exceeded");
    assertThat(events).doesNotContain("[DONE]");
    assertThat(c.elapsedMillis()).isBetween(1_000L, 2_000L);
    await().atMost(Duration.ofSeconds(3)).until(() -> s.abortedByCaller() - aborted == 1);
    RequestRecord r = c.record(gw);
    assertThat(r.outcome()).isEqualTo(Outcome.TRUNCATED);
    assertThat(r.latencyMs()).isLessThanOrEqualTo(r.deadlineMs() + 250);
  }

  @Test
  void noRetryStartsWithLessThanTheMinimumUsefulTimeLeft() {
    SimStats s = gw.sim().stats();
    long before = s.requests("once503");
    // fails at 100 ms; 250 ms would be left, the configured minimum is 300 ms
    Call c = Calls.chat(gw, Calls.body("needs-time", null), "x-request-timeout", "350ms");
    assertThat(c.status()).as(c.toString()).isEqualTo(503);
    assertThat(c.header("x-sluice-retry-skipped")).isEqualTo("deadline");
    assertThat(c.attempts()).isEqualTo(1);
    assertThat(c.elapsedMillis()).isLessThan(350L + 500);
    assertThat(s.requests("once503") - before).isEqualTo(1);
    // with time enough, the same failure is retried
    Call more = Calls.chat(gw, Calls.body("needs-time", null), "x-request-timeout", "1s");
    assertThat(more.attempts()).as(more.toString()).isGreaterThan(1);
  }
}
