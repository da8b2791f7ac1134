package dev.sluice.server;

import static dev.sluice.server.AdmissionHttp.chatAsync;
import static dev.sluice.server.AdmissionHttp.shed;
import static dev.sluice.server.AdmissionHttp.slow;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.deadline.Scheduler;
import dev.sluice.provider.sim.SimProfile;
import dev.sluice.provider.sim.Simulator;
import dev.sluice.routing.ModelGroup;
import dev.sluice.server.AdmissionHttp.Reply;
import dev.sluice.testing.AtRest;
import dev.sluice.testing.TestGateway;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The queue's {@code max_wait} timer and a dispatch can meet: a slot frees on one event loop and is
 * handed to a queued request whose own event loop is, at that moment, about to run the request's
 * queue timer. The timer must then stand aside (the request is no longer in the queue) and the
 * dispatch must serve the request: no 503 for a request that got its slot, and nothing held after.
 *
 * <p>Real time cannot pick that instant, so the test picks it: the queue timer is held instead of
 * armed, the queued request's event loop is kept busy until the other loop has dispatched to it,
 * and only then, still ahead of the dispatch's own task on that loop, the held timer runs.
 */
class QueueTimerRaceTest {
  private static final Duration MAX_WAIT = Duration.ofMillis(7_777); // a delay only the queue timer has

  /** Passes every timer through except the queue's, which it keeps to be run by hand. */
  static final class HoldQueueTimer implements UnaryOperator<Scheduler> {
    static final long HELD = Long.MAX_VALUE;

    /** The held queue timer, the request's context it was armed in, and that context's event-loop thread. */
    record Held(Runnable task, Context context, Thread thread) {}

    /** Set and cleared as one, so that a reader never sees a task with another request's loop. */
    final AtomicReference<Held> held = new AtomicReference<>();
    /** The event-loop thread where the first other timer was armed. */
    final AtomicReference<Thread> firstOther = new AtomicReference<>();

    @Override
    public Scheduler apply(Scheduler real) {
      return new Scheduler() {
        @Override
        public long schedule(long delayNanos, Runnable task) {
          if (delayNanos == MAX_WAIT.toNanos()
              && held.compareAndSet(null, new Held(task, Vertx.currentContext(), Thread.currentThread()))) {
            return HELD;
          }
          if (Context.isOnEventLoopThread()) {
            firstOther.compareAndSet(null, Thread.currentThread());
          }
          return real.schedule(delayNanos, task);
        }

        @Override
        public boolean cancel(long handle) {
          return handle == HELD ? held.getAndSet(null) != null : real.cancel(handle);
        }
      };
    }
  }

  @Test
  void aQueueTimerDueWhileADispatchIsOnItsWayLetsTheDispatchServeTheRequest() throws Exception {
    // the upstream on a Vert.x of its own, so that keeping one of the gateway's loops busy never
    // keeps the upstream from answering
    Vertx upstreamVertx = Vertx.vertx();
    Simulator sim = Simulator.start(upstreamVertx, SimProfile.builtIn(7), "127.0.0.1", 0, 1)
        .await(10, TimeUnit.SECONDS);
    HoldQueueTimer timers = new HoldQueueTimer();
    String yaml = """
        server: { port: 0, event_loops: 2 }
        providers:
          up: { type: openai, base_url: "http://127.0.0.1:%d/v1" }
        models:
          demo:
            deployments:
              - { id: up-a, provider: up, model: sim-fast, max_concurrency: 1 }
        admission:
          concurrency: { algorithm: fixed, initial: 1, min: 1 }
          queue: { size: 4, max_wait: %dms }
        """.formatted(sim.port(), MAX_WAIT.toMillis());
    try (TestGateway gw = TestGateway.start(yaml, timers)) {
      ModelGroup demo = gw.gateway().services().registry().groups().iterator().next();
      // long enough for the retries below, and it must still be running when the spin starts
      CompletableFuture<Reply> busy = chatAsync(gw, null, slow(3_000));
      await().atMost(Duration.ofSeconds(10)).until(() -> sim.stats().requests() == 1);
      Thread busyLoop = timers.firstOther.get(); // the first timer armed on a loop: the busy request's own
      assertThat(busyLoop).as("the busy request armed its timers on an event loop").isNotNull();

      // the waiting request must have come in on the other loop: the test keeps that loop busy, and
      // the busy request must be free to end on its own. Connections are handed to the loops in turn,
      // so which loop a new one lands on depends on the connections made before it (a CI run once had
      // both requests on one loop); a waiting request that shares the busy one's loop is dropped (a
      // client disconnect, which also takes its held timer back) and sent again
      CompletableFuture<Reply> waiting = null;
      HoldQueueTimer.Held held = null;
      for (int tries = 0; tries < 8 && waiting == null; tries++) {
        CompletableFuture<HttpResponse<String>> sent = AdmissionHttp.HTTP.sendAsync(
            AdmissionHttp.request(gw.baseUrl(), "POST", "/v1/chat/completions", TestGateway.chat(null)).build(),
            HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).until(() -> timers.held.get() != null);
        held = timers.held.get();
        if (held.thread() != busyLoop) {
          waiting = sent.thenApply(Reply::of);
        } else {
          sent.cancel(true);
          await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
              .until(() -> timers.held.get() == null && demo.queue().size() == 0);
        }
      }
      assertThat(waiting).as("a waiting request came in on the other loop").isNotNull();
      Context waitingLoop = held.context();
      assertThat(demo.queue().size()).isEqualTo(1);
      double refusedBefore = shed(gw, "queue_full");

      // keep the waiting request's loop busy until the busy request's loop has freed its slot and
      // handed it over (the queue is empty); the dispatch's task now waits behind this one. Then the
      // queue timer runs, as it would had it fallen due in this very turn of the loop.
      assertThat(busy).as("the busy request still holds the slot").isNotDone();
      CountDownLatch timerRan = new CountDownLatch(1);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      waitingLoop.runOnContext(v -> {
        try {
          long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
          while (demo.queue().size() > 0 && System.nanoTime() < until) {
            Thread.onSpinWait();
          }
          assertThat(demo.queue().size()).as("the other loop dispatched to the waiting request").isZero();
          HoldQueueTimer.Held due = timers.held.getAndSet(null);
          assertThat(due).as("the queue timer was still armed when the dispatch left the other loop").isNotNull();
          due.task().run();
          timerRan.countDown();
        } catch (Throwable t) {
          failure.set(t);
          timerRan.countDown();
        }
      });
      assertThat(timerRan.await(20, TimeUnit.SECONDS)).isTrue();
      assertThat(failure.get()).isNull();

      assertThat(busy.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      Reply served = waiting.get(30, TimeUnit.SECONDS);
      assertThat(served.status()).as("the request that got its slot is served: %s", served.body()).isEqualTo(200);
      assertThat(served.header("x-sluice-deployment")).hasValue("up-a");
      assertThat(shed(gw, "queue_full")).as("no refusal was counted").isEqualTo(refusedBefore);
      assertThat(sim.stats().requests()).isEqualTo(2);
      AtRest.check(gw);
    } finally {
      sim.close();
      upstreamVertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
