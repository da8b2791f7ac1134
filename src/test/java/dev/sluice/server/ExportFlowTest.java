package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.store.RequestLog;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.TestGateway;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The export's flow control over real HTTP: the request log's worker thread reads rows far faster
 * than a slow client takes them, so it must wait whenever the client's queue is full (and lose
 * nothing), and stop when the client goes (and leave the gateway serving). A log of 60,000 rows
 * (about 30 MB of NDJSON) is more than the socket buffers and Vert.x's write queue hold.
 */
class ExportFlowTest {
  private static final int ROWS = 60_000;
  private static TestGateway gw;

  @BeforeAll
  static void seed() throws Exception {
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, seed: 3 }
        models:
          demo:
            deployments: [{ provider: sim, model: sim-fast }]
        """);
    long now = System.currentTimeMillis();
    try (Connection c = gw.gateway().services().observability().database().dataSource().getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps = RequestLog.prepareInsert(c)) {
        List<RequestRecord> batch = new ArrayList<>(1000);
        for (int i = 0; i < ROWS; i++) {
          batch.add(RequestRecord.builder().id("req_seed_" + i).start(now - ROWS + i).endpoint("chat").model("demo")
              .provider("sim").deployment("sim/sim-fast").status(200).outcome(Outcome.SUCCESS)
              .error(null, "x".repeat(300)) // rows of ~500 bytes
              .latencyMs(12.5).firstTokenMs(-1).attempts(1).route("sim/sim-fast:200").hedged(false).stream(false)
              .tokens(10, 20).key(null).priority("normal").deadlineMs(170_000).overheadMs(0.1).build());
          if (batch.size() == 1000) {
            RequestLog.insert(ps, batch);
            batch.clear();
          }
        }
      }
      c.commit();
    }
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  private static InputStream open() throws Exception {
    HttpResponse<InputStream> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/admin/requests/export")).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  @Test
  void aSlowClientGetsEveryRowOnce() throws Exception {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(open(), StandardCharsets.UTF_8))) {
      // stall first, so that the worker meets a full queue and has to wait for it to drain
      Thread.sleep(1500);
      long lines = 0;
      long seeded = 0;
      String line;
      while ((line = in.readLine()) != null) {
        lines++;
        if (line.contains("\"req_seed_")) {
          seeded++;
        }
        if (lines % 20_000 == 0) {
          Thread.sleep(300); // and again part-way
        }
      }
      assertThat(seeded).as("seeded rows exported, each once").isEqualTo(ROWS);
    }
  }

  @Test
  void aClientThatLeavesMidExportStopsItAndTheGatewayServesOn() throws Exception {
    InputStream in = open();
    byte[] some = in.readNBytes(64 * 1024);
    assertThat(some).hasSize(64 * 1024);
    in.close(); // gone with most of the export unsent
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      HttpResponse<String> r = gw.get("/admin/requests?limit=1");
      assertThat(r.statusCode()).isEqualTo(200);
    });
    // and a whole export still works afterwards
    try (BufferedReader again = new BufferedReader(new InputStreamReader(open(), StandardCharsets.UTF_8))) {
      assertThat(again.lines().filter(l -> l.contains("\"req_seed_")).count()).isEqualTo(ROWS);
    }
  }
}
