package dev.sluice.server;

import static dev.sluice.server.AdmissionHttp.auth;
import static dev.sluice.server.AdmissionHttp.createKey;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.server.AdmissionHttp.Reply;
import dev.sluice.testing.TestGateway;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/**
 * Two keys share one deployment that serves four requests at a time (about 16 a second). Key A
 * floods it with ten times its share, many requests at once, ignoring refusals; key B sends a
 * modest, steady stream. Both ask for the same 2 s deadline, so earliest-deadline-first alone does not
 * put B ahead of A's backlog. B must still be served within its deadlines.
 *
 * <p>The design gives two mechanisms for this, and each is tested on its own:
 * <ul>
 *   <li><b>a key's max_concurrency</b> is the share of the gateway a key may hold: A's requests beyond
 *       it are refused at the door with 429 {@code concurrency} (they never queue), so whatever A does,
 *       the deployment has room for B;
 *   <li><b>priorities</b>: the queue in front of the deployment gives each priority class a guaranteed
 *       share of the slots as they free up, so an unlimited low-priority flood waits in the queue while
 *       B, at high priority, is dispatched within a slot or two of arriving — and A still gets the
 *       slots B does not need (high cannot take everything).
 * </ul>
 */
class FairnessTest {
  static final String YAML = """
      server: { port: 0, event_loops: 1 }
      providers:
        sim: { type: sim, seed: 7 }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast, max_concurrency: 4 }
      admission:
        concurrency: { algorithm: fixed, initial: 4, min: 1 }
      """;
  /** About a quarter of a second per request at the provider. */
  static final String WORK = "\"sim\":{\"first_token\":\"200ms\",\"output_tokens\":8}";
  static final int B_REQUESTS = 32;
  static final long B_INTERVAL_MS = 250;

  /** What each key got. */
  record Outcome(Map<Integer, LongAdder> a, List<Reply> b, long maxQueued) {
    long a(int status) {
      LongAdder n = a.get(status);
      return n == null ? 0 : n.sum();
    }

    long bServed() {
      return b.stream().filter(r -> r.status() == 200).count();
    }
  }

  /**
   * Runs A's flood ({@code aClients} requests at once, each sent again as soon as it is answered, or
   * after a short pause when refused) while B sends one request every 250 ms; all with a 2 s deadline.
   */
  static Outcome run(TestGateway gw, String keyA, int aClients, String keyB) throws Exception {
    for (int i = 0; i < 4; i++) {
      assertThat(AdmissionHttp.chat(gw, keyB, WORK).status()).isEqualTo(200); // warm up
    }
    Map<Integer, LongAdder> a = new ConcurrentHashMap<>();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong maxQueued = new AtomicLong();
    ExecutorService flood = Executors.newFixedThreadPool(aClients);
    for (int i = 0; i < aClients; i++) {
      flood.submit(() -> {
        while (!stop.get()) {
          Reply r;
          try {
            r = AdmissionHttp.chat(gw, keyA, WORK, "x-request-timeout", "2s");
          } catch (RuntimeException e) {
            r = new Reply(-1, Map.of(), "");
          }
          a.computeIfAbsent(r.status(), s -> new LongAdder()).increment();
          if (r.status() != 200) {
            try {
              Thread.sleep(100); // a refused flood comes straight back; the pause only spares the test machine
            } catch (InterruptedException e) {
              return null;
            }
          }
        }
        return null;
      });
    }
    Thread.sleep(1000); // the flood is in full swing
    List<CompletableFuture<Reply>> b = new ArrayList<>();
    for (int i = 0; i < B_REQUESTS; i++) {
      b.add(AdmissionHttp.chatAsync(gw, keyB, WORK, "x-request-timeout", "2s"));
      maxQueued.accumulateAndGet(gw.ledger().queued(), Math::max);
      Thread.sleep(B_INTERVAL_MS);
    }
    List<Reply> bReplies = new ArrayList<>();
    for (CompletableFuture<Reply> f : b) {
      bReplies.add(f.get(30, TimeUnit.SECONDS));
    }
    stop.set(true);
    flood.shutdown();
    assertThat(flood.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
    gw.awaitAtRest();
    return new Outcome(a, bReplies, maxQueued.get());
  }

  private static void assertBGotItsShare(Outcome o) {
    assertThat(o.bServed())
        .as("B served within its deadline; B's answers: %s", o.b().stream().map(Reply::status).toList())
        .isGreaterThanOrEqualTo((long) Math.ceil(B_REQUESTS * 0.95));
  }

  @Test
  void aKeysMaxConcurrencyKeepsItsFloodFromCrowdingOutAnother() throws Exception {
    try (TestGateway gw = TestGateway.start(YAML)) {
      // A may hold 3 of the 4 slots, and sends 30 at once
      String a = createKey(gw, null, "{\"name\":\"flood\",\"max_concurrency\":3}").get("key").asText();
      String b = createKey(gw, null, "{\"name\":\"steady\"}").get("key").asText();
      Outcome o = run(gw, a, 30, b);
      assertBGotItsShare(o);
      assertThat(o.a(429)).as("A refused at the door for its concurrency").isGreaterThan(100);
      assertThat(o.a(200)).as("A still served its share").isGreaterThan(50);
      assertThat(o.a(-1)).isZero();
    }
  }

  @Test
  void priorityKeepsALowPriorityFloodFromStarvingHighPriority() throws Exception {
    try (TestGateway gw = TestGateway.start(YAML)) {
      // A has no limits of its own and sends 40 at once, ten times what the deployment serves
      String a = createKey(gw, null, "{\"name\":\"flood\",\"priority\":\"low\"}").get("key").asText();
      String b = createKey(gw, null, "{\"name\":\"steady\",\"priority\":\"high\"}").get("key").asText();
      Outcome o = run(gw, a, 40, b);
      assertBGotItsShare(o);
      // the queue holds what can finish within 2 s (some 20 requests); the rest of A's flood is shed at once
      assertThat(o.maxQueued()).as("A's flood waited in the queue").isGreaterThanOrEqualTo(8);
      assertThat(o.a(503)).as("A's excess refused as deadline_unmeetable").isGreaterThan(0);
      assertThat(o.a(200)).as("high cannot take everything: A got the slots B did not need").isGreaterThan(50);
      assertThat(o.a(-1)).isZero();
    }
  }
}
