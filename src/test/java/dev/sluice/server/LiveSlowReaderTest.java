package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.telemetry.Alerts;
import dev.sluice.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A dashboard that stops reading for a while (a stalled network, a busy browser) is sent nothing
 * while its connection's write queue is full, so it costs the gateway no memory. Ticks it missed
 * are made up by the next one; an alert change it missed is repeated by nothing, so when it reads
 * again it must be told the alerts as they are now: otherwise an alert raised meanwhile never
 * shows on that page (and one resolved meanwhile shows open for good).
 */
class LiveSlowReaderTest {
  private static final String FILLER = "x".repeat(32 * 1024);

  @Test
  void aPageThatStoppedReadingLearnsTheAlertsItMissedWhenItReadsAgain() {
    Vertx vertx = Vertx.vertx();
    try (TestGateway gw = TestGateway.start(TestGateway.SIMPLE)) {
      Alerts alerts = gw.gateway().alerts();
      Page page = new Page();
      // a small receive buffer of its own (no autotuning): the gateway's queue fills after a few MB
      var client = vertx.createWebSocketClient(new WebSocketClientOptions()
          .setReceiveBufferSize(4096).setMaxMessageSize(64 * 1024 * 1024));
      URI base = URI.create(gw.baseUrl());
      ClientWebSocket ws = await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
        // a new Vert.x client's very first handshake is dropped on this machine (against any
        // server, a bare Vert.x one too): not what is tested here, so it is simply tried again
        ClientWebSocket c = client.webSocket();
        c.textMessageHandler(t -> page.receive(new JsonObject(t)));
        c.connect(base.getPort(), base.getHost(), "/admin/live").await();
        return c;
      }, c -> c != null);
      await().atMost(Duration.ofSeconds(10)).until(() -> page.helloed);

      ws.pause();
      long now = System.currentTimeMillis();
      for (int i = 0; i < 384; i++) { // 12 MB of alert changes: more than the socket's buffers hold
        alerts.raise("filler:" + i, Alerts.Severity.INFO, "filler", "filler " + i, FILLER, now);
      }
      alerts.raise("memory:heap", Alerts.Severity.CRITICAL, "memory", "heap", "heap use after GC is 97%", now);
      ws.resume();

      await("the page's alerts the same as the gateway's").atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(200))
          .untilAsserted(() -> assertThat(page.ids()).isEqualTo(ids(alerts.list(null, null, null))));
      assertThat(ws.isClosed()).isFalse();
    } finally {
      vertx.close().await();
    }
  }

  private static String ids(JsonArray list) {
    StringBuilder b = new StringBuilder();
    list.stream().map(a -> ((JsonObject) a).getLong("id")).sorted().forEach(id -> b.append(id).append(' '));
    return b.toString();
  }

  /** What a dashboard makes of the messages, as app.js does: a whole list replaces, a change updates one. */
  private static final class Page {
    private final Map<Long, JsonObject> alerts = new TreeMap<>();
    private volatile boolean helloed;

    synchronized void receive(JsonObject m) {
      String type = m.getString("type");
      if ("hello".equals(type) || "alerts".equals(type)) {
        alerts.clear();
        m.getJsonArray("alerts").forEach(a -> alerts.put(((JsonObject) a).getLong("id"), (JsonObject) a));
        helloed = true;
      } else if ("alert".equals(type)) {
        JsonObject a = m.getJsonObject("alert");
        alerts.put(a.getLong("id"), a);
      }
    }

    synchronized String ids() {
      return LiveSlowReaderTest.ids(new JsonArray(new java.util.ArrayList<>(alerts.values())));
    }
  }
}
