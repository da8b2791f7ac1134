package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.testing.EmbeddedPg;
import dev.sluice.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A PostgreSQL that does not answer, rather than one that is gone: a table locked by someone else,
 * or a server frozen (its machine hung, its packets dropped). Every call on it must end, so the
 * request log says it is degraded instead of stalling silently, reads of the log answer 503
 * instead of hanging, and all of it recovers when PostgreSQL answers again.
 */
class StoreHangTest {
  private static EmbeddedPg pg;

  @BeforeAll
  static void startPostgres() {
    pg = EmbeddedPg.start();
  }

  @AfterAll
  static void stopPostgres() {
    pg.close();
  }

  private static TestGateway gateway(String url, String storeExtra) {
    return TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, seed: 7 }
        store: { url: "%s", buffer: 50, batch_size: 10 %s }
        models:
          demo:
            deployments:
              - { id: sim-a, provider: sim, model: sim-fast }
        """.formatted(url, storeExtra));
  }

  private static final String QUICK =
      "\"sim\":{\"first_token\":\"1ms\",\"output_tokens\":4,\"tokens_per_second\":10000}";

  private static void traffic(TestGateway gw, int n) {
    for (int i = 0; i < n; i++) {
      HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat(QUICK));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
  }

  private static String logState(TestGateway gw) {
    return new JsonObject(gw.get("/ready").body()).getString("request_log");
  }

  private static HttpResponse<String> adminRequests(TestGateway gw) {
    return gw.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/admin/requests?limit=1")).GET());
  }

  private static long written(TestGateway gw) {
    return new JsonObject(gw.get("/admin/status").body()).getJsonObject("request_log").getLong("written");
  }

  @Test
  void aLockedTableFailsWritesAndReadsInsteadOfHoldingThem() throws Exception {
    String url = pg.newDatabase();
    try (TestGateway gw = gateway(url, ", statement_timeout: 1s")) {
      traffic(gw, 5);
      await().atMost(Duration.ofSeconds(20)).until(() -> written(gw) >= 5);
      try (Connection lock = DriverManager.getConnection(url)) {
        lock.setAutoCommit(false);
        try (Statement st = lock.createStatement()) {
          st.execute("LOCK TABLE request_log IN ACCESS EXCLUSIVE MODE");
        }
        traffic(gw, 20);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
          traffic(gw, 1);
          return logState(gw).equals("degraded");
        });
        HttpResponse<String> r = adminRequests(gw);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
        assertThat(r.body()).contains("statement timeout");
        lock.rollback();
      }
      long before = written(gw);
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
        traffic(gw, 1);
        return logState(gw).equals("ok") && written(gw) > before;
      });
      assertThat(adminRequests(gw).statusCode()).isEqualTo(200);
      gw.awaitAtRest();
    }
  }

  @Test
  void aFrozenServerIsGivenUpOnAndTheLogRecoversWhenItThaws() throws Exception {
    String url = pg.newDatabase();
    try (TestGateway gw = gateway(url, ", statement_timeout: 1s")) {
      traffic(gw, 5);
      await().atMost(Duration.ofSeconds(20)).until(() -> written(gw) >= 5);
      pg.freeze();
      try {
        traffic(gw, 20);
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> {
          traffic(gw, 1);
          return logState(gw).equals("degraded");
        });
        HttpResponse<String> r = adminRequests(gw);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
      } finally {
        pg.thaw();
      }
      long before = written(gw);
      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
        traffic(gw, 1);
        return logState(gw).equals("ok") && written(gw) > before;
      });
      assertThat(adminRequests(gw).statusCode()).isEqualTo(200);
      gw.awaitAtRest();
    }
  }

  /**
   * The gateway re-reads its keys every 5 s on a worker thread. While that read hangs (here a lock
   * on api_keys that outlasts the statement timeout), the next ticks must not each take another
   * worker thread to wait behind it: with the worker pool gone, /metrics, /admin/* and every other
   * blocking call would hang as well.
   */
  @Test
  void aHangingKeyRefreshTakesOneWorkerThreadNotAllOfThem() throws Exception {
    String url = pg.newDatabase();
    try (TestGateway gw = gateway(url, ", statement_timeout: 10m")) {
      try (Connection lock = DriverManager.getConnection(url)) {
        lock.setAutoCommit(false);
        try (Statement st = lock.createStatement()) {
          st.execute("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE");
        }
        // long enough for eight refresh ticks, twice the four worker threads of a one-loop gateway
        long end = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (System.nanoTime() < end) {
          HttpResponse<String> m = gw.get("/metrics");
          assertThat(m.statusCode()).isEqualTo(200);
          Thread.sleep(1000);
        }
        traffic(gw, 3);
        assertThat(adminRequests(gw).statusCode()).isEqualTo(200);
        lock.rollback();
      }
      gw.awaitAtRest();
    }
  }
}
