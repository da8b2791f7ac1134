package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import java.net.BindException;
import java.net.ConnectException;
import java.net.Socket;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ServerLoopsTest {
  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(3));
  private final List<Integer> ports = new CopyOnWriteArrayList<>();
  private final AtomicInteger stops = new AtomicInteger();

  /** Listens on a port of its own; one made to fail does so after opening its server. */
  private final class Probe extends VerticleBase {
    private final boolean fails;
    private HttpServer server;

    Probe(boolean fails) {
      this.fails = fails;
    }

    @Override
    public Future<?> start() {
      server = vertx.createHttpServer().requestHandler(r -> r.response().end());
      return server.listen(0, "127.0.0.1").compose(s -> {
        ports.add(s.actualPort());
        // a checked exception, as a port in use gives
        return fails ? Future.failedFuture(new BindException("taken")) : Future.succeededFuture();
      });
    }

    @Override
    public Future<?> stop() {
      stops.incrementAndGet();
      return server.close();
    }
  }

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void eachInstanceRunsOnALoopOfItsOwnAndStopsThere() {
    ServerLoops<Probe> loops = ServerLoops.start(vertx, 3, () -> new Probe(false));
    assertThat(new HashSet<>(loops.threads())).hasSize(3);
    loops.stop();
    assertThat(stops).hasValue(3);
    assertClosed(ports);
  }

  @Test
  void aFailedStartStopsEveryInstanceAndClosesWhatTheyOpenedOnACallersVertx() {
    AtomicInteger made = new AtomicInteger();
    assertThatThrownBy(() -> ServerLoops.start(vertx, 3, () -> new Probe(made.getAndIncrement() == 1)))
        .isInstanceOf(BindException.class);
    assertThat(ports).hasSize(3);
    assertThat(stops).as("every instance was stopped, the failed one too").hasValue(3);
    assertClosed(ports);
  }

  /**
   * Every port refuses connections, at once or within a moment: a close reported done may still be
   * finishing, and one run in a full suite found a port open right after its server closed. A server
   * that was never closed stays open and fails this.
   */
  private static void assertClosed(List<Integer> ports) {
    ports.forEach(p -> org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
        .pollInterval(java.time.Duration.ofMillis(20))
        .untilAsserted(() -> assertThat(refused(p)).as("port %d closed", p).isTrue()));
  }

  private static boolean refused(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return false;
    } catch (ConnectException e) {
      return true;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
