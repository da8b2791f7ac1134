package dev.sluice.server;

import static dev.sluice.server.AdmissionHttp.assertError;
import static dev.sluice.server.AdmissionHttp.assertRetryAfter;
import static dev.sluice.server.AdmissionHttp.chat;
import static dev.sluice.server.AdmissionHttp.chatAsync;
import static dev.sluice.server.AdmissionHttp.shed;
import static dev.sluice.server.AdmissionHttp.slow;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.server.AdmissionHttp.Reply;
import dev.sluice.testing.TestGateway;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The gateway's own capacity refusals, over real HTTP: a full queue, a deadline the queue makes
 * unmeetable, memory pressure and the global cap. Each is a 503 in OpenAI's shape naming its reason,
 * with Retry-After, counted in {@code sluice_shed_total}, reaching no provider and holding nothing.
 * The deployment serves one request at a time, so one slow request keeps it busy.
 */
class OverloadRefusalTest {

  static String yaml(String admission) {
    return """
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, seed: 7 }
        models:
          demo:
            deployments:
              - { id: sim-a, provider: sim, model: sim-fast, max_concurrency: 1 }
        admission:
          concurrency: { algorithm: fixed, initial: 1, min: 1 }
        """ + admission.indent(2);
  }

  /** Sends a slow request and waits until the provider has it (the deployment's one slot is taken). */
  private static CompletableFuture<Reply> occupy(TestGateway gw, long ms) {
    long before = gw.sim().stats().requests();
    CompletableFuture<Reply> f = chatAsync(gw, null, slow(ms));
    await().atMost(Duration.ofSeconds(10)).until(() -> gw.sim().stats().requests() == before + 1);
    return f;
  }

  @Test
  void aFullQueueIs503QueueFull() throws Exception {
    try (TestGateway gw = TestGateway.start(yaml("queue: { size: 1 }"))) {
      CompletableFuture<Reply> busy = occupy(gw, 1500);
      CompletableFuture<Reply> waiting = chatAsync(gw, null, null);
      await().atMost(Duration.ofSeconds(10)).until(() -> gw.ledger().queued() == 1);
      double before = shed(gw, "queue_full");

      Reply r = chat(gw, null, null);
      JsonNode e = assertError(r, 503, "overloaded_error", "queue_full");
      assertThat(e.get("message").asText()).contains("queue is full");
      assertRetryAfter(r);
      assertThat(r.header("x-sluice-deployment")).isEmpty();
      assertThat(shed(gw, "queue_full")).isEqualTo(before + 1);
      assertThat(gw.ledger().queued()).as("the refused request was never queued").isEqualTo(1);

      assertThat(busy.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(waiting.get(30, TimeUnit.SECONDS).status()).as("the queued one is served when the slot frees")
          .isEqualTo(200);
      gw.awaitAtRest();
      assertThat(gw.sim().stats().requests()).as("the refused request reached no provider").isEqualTo(2);
    }
  }

  @Test
  void aDeadlineTheQueueCannotMeetIs503AtOnce() throws Exception {
    try (TestGateway gw = TestGateway.start(yaml("queue: { size: 10 }"))) {
      // the deployment's recent service time is about a second
      assertThat(chat(gw, null, slow(900)).status()).isEqualTo(200);
      CompletableFuture<Reply> busy = occupy(gw, 2000);
      CompletableFuture<Reply> queued = chatAsync(gw, null, slow(900));
      await().atMost(Duration.ofSeconds(10)).until(() -> gw.ledger().queued() == 1);
      double before = shed(gw, "deadline_unmeetable");

      // half a second cannot cover even the request's own service time
      Reply r = chat(gw, null, null, "x-request-timeout", "500ms");
      JsonNode e = assertError(r, 503, "overloaded_error", "deadline_unmeetable");
      assertThat(e.get("message").asText()).contains("deadline");
      assertRetryAfter(r);
      assertThat(shed(gw, "deadline_unmeetable")).isEqualTo(before + 1);
      assertThat(gw.ledger().queued()).isEqualTo(1);

      // a deadline the queue can meet is queued and served
      CompletableFuture<Reply> patient = chatAsync(gw, null, null, "x-request-timeout", "20s");
      assertThat(busy.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(queued.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(patient.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      gw.awaitAtRest();
      assertThat(gw.sim().stats().requests()).as("the refused request reached no provider").isEqualTo(4);
    }
  }

  @Test
  void theGlobalCapIs503Overloaded() throws Exception {
    try (TestGateway gw = TestGateway.start(yaml("max_in_flight: 1"))) {
      CompletableFuture<Reply> busy = occupy(gw, 1000);
      double before = shed(gw, "overloaded");

      Reply r = chat(gw, null, null);
      JsonNode e = assertError(r, 503, "overloaded_error", "overloaded");
      assertThat(e.get("message").asText()).contains("maximum of 1");
      assertRetryAfter(r);
      assertThat(shed(gw, "overloaded")).isEqualTo(before + 1);
      assertThat(gw.get("/health").statusCode()).as("health checks are not inference").isEqualTo(200);

      assertThat(busy.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      gw.awaitAtRest();
      assertThat(gw.sim().stats().requests()).isEqualTo(1);
      assertThat(chat(gw, null, null).status()).as("room again").isEqualTo(200);
      gw.awaitAtRest();
    }
  }

  /**
   * The real memory guard with a low mark for the test: the heap is filled until use after GC is
   * over the high mark, then emptied until it is under the low one. The guard reads the heap every
   * 250 ms.
   */
  @Test
  void memoryPressureIs503UntilTheHeapRecovers() throws Exception {
    try (TestGateway gw = TestGateway.start(yaml("memory: { high_watermark: 0.2, low_watermark: 0.1 }"))) {
      assertThat(chat(gw, null, null).status()).isEqualTo(200);
      var guard = gw.gateway().services().admission().memory();
      long max = Runtime.getRuntime().maxMemory();
      List<byte[]> ballast = new ArrayList<>();
      for (long held = 0; held < max * 0.45; held += 1 << 20) {
        ballast.add(new byte[1 << 20]);
      }
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> {
        System.gc();
        return guard.refusing();
      });
      long providerBefore = gw.sim().stats().requests();
      double before = shed(gw, "memory_pressure");

      Reply r = chat(gw, null, null);
      JsonNode e = assertError(r, 503, "overloaded_error", "memory_pressure");
      assertThat(e.get("message").asText()).contains("memory");
      assertRetryAfter(r);
      assertThat(shed(gw, "memory_pressure")).isEqualTo(before + 1);
      gw.awaitAtRest();
      assertThat(gw.sim().stats().requests()).isEqualTo(providerBefore);

      assertThat(ballast).isNotEmpty();
      ballast.clear();
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> {
        System.gc();
        return !guard.refusing();
      });
      assertThat(chat(gw, null, null).status()).as("admitted again under the low mark").isEqualTo(200);
      gw.awaitAtRest();
    }
  }

  /**
   * {@code max_wait} bounds the wait itself, not only the estimate made on entry: a request that
   * was queued (nothing had finished yet, so the expected wait was nil) but waits that long without
   * a slot leaves the queue with 503 queue_full, long before the busy slot frees.
   */
  @Test
  void aRequestThatWaitsMaxWaitLeavesTheQueueWith503() throws Exception {
    try (TestGateway gw = TestGateway.start(yaml("queue: { size: 5, max_wait: 300ms }"))) {
      CompletableFuture<Reply> busy = occupy(gw, 3000);
      double before = shed(gw, "queue_full");
      CompletableFuture<Reply> waiting = chatAsync(gw, null, null);
      await().atMost(Duration.ofSeconds(10)).until(() -> gw.ledger().queued() == 1 || waiting.isDone());

      Reply r = waiting.get(30, TimeUnit.SECONDS);
      JsonNode e = assertError(r, 503, "overloaded_error", "queue_full");
      assertThat(e.get("message").asText()).contains("max_wait of 300ms");
      assertRetryAfter(r);
      assertThat(busy).as("refused before the slot freed").isNotDone();
      assertThat(gw.ledger().queued()).isZero();
      assertThat(shed(gw, "queue_full")).isEqualTo(before + 1);

      assertThat(busy.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      gw.awaitAtRest();
      assertThat(gw.sim().stats().requests()).as("the refused request reached no provider").isEqualTo(1);
    }
  }

  /** A request served from the queue within its max_wait disarms the timer: at rest, none is armed. */
  @Test
  void aRequestServedWithinMaxWaitDisarmsItsTimer() throws Exception {
    try (TestGateway gw = TestGateway.start(yaml("queue: { size: 5, max_wait: 30s }"))) {
      CompletableFuture<Reply> busy = occupy(gw, 500);
      CompletableFuture<Reply> waiting = chatAsync(gw, null, null);
      await().atMost(Duration.ofSeconds(10)).until(() -> gw.ledger().queued() == 1);
      assertThat(busy.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(waiting.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      gw.awaitAtRest(); // within 10 s: a 30 s timer left armed would fail this
    }
  }

  /**
   * A queued request whose deadline passes before a slot frees ends with 504 and leaves the queue
   * (with a max_wait longer than the deadline, its timer is disarmed too: at rest, none is armed).
   */
  @ParameterizedTest
  @ValueSource(strings = {"queue: { size: 5 }", "queue: { size: 5, max_wait: 30s }"})
  void aQueuedRequestWhoseDeadlinePassesLeavesTheQueue(String queue) throws Exception {
    try (TestGateway gw = TestGateway.start(yaml(queue))) {
      CompletableFuture<Reply> busy = occupy(gw, 2500);
      CompletableFuture<Reply> late = chatAsync(gw, null, null, "x-request-timeout", "1s");
      await().atMost(Duration.ofSeconds(10)).until(() -> gw.ledger().queued() == 1);
      Reply r = late.get(30, TimeUnit.SECONDS);
      assertError(r, 504, "deadline_exceeded", "timeout");
      assertThat(gw.ledger().queued()).isZero();
      assertThat(busy).as("answered before the slot freed").isNotDone();
      assertThat(busy.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      gw.awaitAtRest();
      assertThat(gw.sim().stats().requests()).isEqualTo(1);
    }
  }

  /**
   * A request refused by the gateway's own capacity never reached a provider and used no tokens: its
   * estimate must not stay charged to the key's tokens per minute.
   */
  @Test
  void aCapacityRefusalCostsTheKeyNoTokens() throws Exception {
    try (TestGateway gw = TestGateway.start(yaml("queue: { size: 0 }"))) {
      String limited = AdmissionHttp.createKey(gw, null, "{\"name\":\"t\",\"tpm\":1000}").get("key").asText();
      String other = AdmissionHttp.createKey(gw, null, "{\"name\":\"o\"}").get("key").asText();
      CompletableFuture<Reply> busy = chatAsync(gw, other, slow(1000));
      await().atMost(Duration.ofSeconds(10)).until(() -> gw.sim().stats().requests() == 1);
      assertError(chat(gw, limited, "\"max_tokens\":600"), 503, "overloaded_error", "queue_full");
      assertThat(busy.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      gw.awaitAtRest();
      Reply r = chat(gw, limited, "\"max_tokens\":600");
      assertThat(r.status()).as("%s", r).isEqualTo(200);
      gw.awaitAtRest();
    }
  }

  /**
   * A client that hangs up while its request waits in the queue leaves the queue at once, and the
   * slot that frees later goes to no one on its behalf.
   */
  @ParameterizedTest
  @ValueSource(strings = {"queue: { size: 5 }", "queue: { size: 5, max_wait: 30s }"})
  void aClientThatDisconnectsWhileQueuedLeavesTheQueueAtOnce(String queue) throws Exception {
    try (TestGateway gw = TestGateway.start(yaml(queue))) {
      CompletableFuture<Reply> busy = occupy(gw, 3000);
      byte[] body = TestGateway.chat(null).getBytes(StandardCharsets.UTF_8);
      try (Socket s = new Socket("127.0.0.1", gw.gateway().port())) {
        OutputStream out = s.getOutputStream();
        out.write(("POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
            + "content-length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.ledger().queued() == 1);
      }
      // well before the slow request ends and frees the slot
      await().atMost(Duration.ofSeconds(1)).until(() -> gw.ledger().queued() == 0);
      assertThat(busy).isNotDone();
      assertThat(gw.ledger().requestsInFlight()).isEqualTo(1);

      assertThat(busy.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      gw.awaitAtRest();
      Thread.sleep(200); // a dispatch on the gone client's behalf would reach the provider now
      assertThat(gw.sim().stats().requests()).as("only the slow request reached the provider").isEqualTo(1);
      var deployment = gw.gateway().services().registry().deployments().get(0);
      assertThat(deployment.limiter().inFlight()).as("no slot left taken").isZero();
      assertThat(chat(gw, null, null).status()).isEqualTo(200);
      gw.awaitAtRest();
    }
  }
}
