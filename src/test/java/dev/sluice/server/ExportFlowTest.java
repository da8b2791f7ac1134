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

  /**
   * A client that takes nothing for longer than the export waits: the export must end visibly
   * broken (no last chunk), never cleanly with rows missing. The wait is shortened from a minute.
   */
  @Test
  void aClientThatStallsPastTheWaitGetsABrokenExportNotAShortOne() throws Exception {
    long wait = AdminApi.exportStallMillis;
    AdminApi.exportStallMillis = 1_000;
    try {
      long seeded = 0;
      boolean broken = false;
      try (BufferedReader in = new BufferedReader(new InputStreamReader(open(), StandardCharsets.UTF_8))) {
        Thread.sleep(3_000);
        String line;
        try {
          while ((line = in.readLine()) != null) {
            if (line.contains("\"req_seed_")) {
              seeded++;
            }
          }
        } catch (java.io.IOException e) {
          broken = true;
        }
      }
      assertThat(broken).as("the export ended broken (%d of %d rows read)", seeded, ROWS).isTrue();
      assertThat(seeded).isLessThan(ROWS);
    } finally {
      AdminApi.exportStallMillis = wait;
    }
  }

  /**
   * Four exports to clients that take nothing would hold every connection of the store's pool
   * (four) for as long as they last, and the request log's writer, which waits 5 s for one, would
   * drop its records. At most two reads run at once; the others wait, then get a 503.
   */
  @Test
  void slowExportsDoNotStarveTheRequestLogWriter() throws Exception {
    List<java.util.concurrent.CompletableFuture<HttpResponse<InputStream>>> started = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      started.add(HttpClient.newHttpClient().sendAsync(
          HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/admin/requests/export")).build(),
          HttpResponse.BodyHandlers.ofInputStream()));
    }
    List<InputStream> exports = new ArrayList<>();
    List<Integer> statuses = new ArrayList<>();
    for (var f : started) {
      HttpResponse<InputStream> r = f.get(30, java.util.concurrent.TimeUnit.SECONDS);
      statuses.add(r.statusCode());
      exports.add(r.body());
    }
    try {
      var log = gw.gateway().services().observability().log();
      long writtenBefore = log.written();
      long droppedBefore = log.dropped();
      for (int i = 0; i < 20; i++) {
        assertThat(gw.post("/v1/chat/completions", TestGateway.chat(null)).statusCode()).isEqualTo(200);
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> log.written() - writtenBefore >= 20);
      assertThat(log.dropped() - droppedBefore).as("records dropped while exports hold connections").isZero();
      assertThat(statuses).as("two exports run, the others are refused").containsExactlyInAnyOrder(200, 200, 503, 503);
    } finally {
      for (InputStream in : exports) {
        in.close();
      }
    }
  }
}
