package dev.sluice.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.StoreConfig;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LogReport} over rows written to a real SQLite request log at fixed instants: the figures of
 * the tables against values computed from the rows, and each recommendation rule on data where it
 * should fire and data where it should not.
 */
class LogReportRulesTest {
  private static final long BASE = 1_790_000_000_000L;

  @TempDir
  Path dir;

  private Database db;
  private final List<RequestRecord> rows = new ArrayList<>();
  private int seq;

  @BeforeEach
  void open() {
    db = Database.open(StoreConfig.DEFAULTS.withUrl("sqlite:" + dir.resolve("log.db")), dir);
  }

  @AfterEach
  void close() {
    db.close();
  }

  private void add(int n, String model, String deployment, Outcome outcome, String errorType, double latencyMs,
      int attempts) {
    for (int i = 0; i < n; i++) {
      rows.add(RequestRecord.builder().id("r" + (seq++)).start(BASE + seq).endpoint("chat").model(model)
          .provider(deployment == null ? null : "p-" + deployment).deployment(deployment)
          .status(outcome.defaultStatus()).outcome(outcome).error(errorType, errorType == null ? null : "x")
          .latencyMs(latencyMs).attempts(attempts).build());
    }
  }

  private LogReport report() throws Exception {
    try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = RequestLog.prepareInsert(c)) {
      RequestLog.insert(ps, rows);
      if (!c.getAutoCommit()) {
        c.commit();
      }
    }
    return LogReport.of(new RequestLogReader(db), BASE - 1, BASE + 1_000_000);
  }

  private static String recs(LogReport r) {
    return String.join("\n", r.recommendations());
  }

  @Test
  void aDeploymentThatCutsHalfItsStreamsIsFlagged() throws Exception {
    add(20, "demo", "a", Outcome.SUCCESS, null, 100, 1);
    add(20, "demo", "a", Outcome.TRUNCATED, "upstream_error", 100, 1);
    assertThat(recs(report())).contains("a: 50.0% of requests failed");
  }

  @Test
  void aDeploymentWhoseAttemptsTimeOutHalfTheTimeIsFlagged() throws Exception {
    add(20, "demo", "a", Outcome.SUCCESS, null, 100, 1);
    add(20, "demo", "a", Outcome.TIMEOUT, "total_timeout", 100, 1);
    assertThat(recs(report())).contains("a: 50.0% of requests failed");
  }

  @Test
  void aGuardAlreadyReportedIsNotReportedTwiceAsFailures() throws Exception {
    add(36, "demo", "a", Outcome.SUCCESS, null, 100, 1);
    add(4, "demo", "a", Outcome.TIMEOUT, "first_byte_timeout", 2000, 1);
    add(3, "demo", "a", Outcome.UPSTREAM_ERROR, "upstream_error", 100, 1);
    String recs = recs(report());
    assertThat(recs).contains("a: first_byte_timeout fired on 9.3% of requests");
    assertThat(recs).doesNotContain("of requests failed"); // 3 of 43 other failures: 7%
  }

  @Test
  void aSlowDeploymentIsFlaggedEvenWhenItCarriesMostOfTheTraffic() throws Exception {
    add(20, "demo", "fast", Outcome.SUCCESS, null, 100, 1);
    add(30, "demo", "slow", Outcome.SUCCESS, null, 1000, 1);
    String recs = recs(report());
    assertThat(recs).contains("slow: consistently slow");
    assertThat(recs).doesNotContain("fast: consistently slow");
  }

  @Test
  void theOnlyDeploymentOfASlowerModelIsNotCalledSlow() throws Exception {
    // two models with one deployment each: nothing to route to instead, and a longer answer is no fault
    add(30, "small", "small-a", Outcome.SUCCESS, null, 100, 1);
    add(30, "large", "large-a", Outcome.SUCCESS, null, 1000, 1);
    assertThat(recs(report())).doesNotContain("consistently slow");
  }

  @Test
  void healthyTwinDeploymentsStaySilent() throws Exception {
    add(30, "demo", "a", Outcome.SUCCESS, null, 100, 1);
    add(30, "demo", "b", Outcome.SUCCESS, null, 120, 1);
    assertThat(report().recommendations()).containsExactly("nothing stands out in this window");
  }

  private static List<String> cells(String out, String name) {
    String row = out.lines().filter(l -> l.startsWith(name + " ")).findFirst()
        .orElseThrow(() -> new AssertionError("no row '" + name + "' in:\n" + out));
    return List.of(row.substring(name.length()).trim().split("\\s+"));
  }

  @Test
  void tableFiguresMatchTheRows() throws Exception {
    for (int i = 1; i <= 100; i++) {
      add(1, "demo", "a", Outcome.SUCCESS, null, i * 10, i % 4 == 0 ? 2 : 1);
    }
    add(10, "demo", "a", Outcome.TIMEOUT, "first_byte_timeout", 2000, 1);
    add(5, "demo", "a", Outcome.UPSTREAM_ERROR, "upstream_status_500", 50, 1);
    add(3, "demo", "a", Outcome.TRUNCATED, "upstream_error", 500, 1);
    add(5, "demo", null, Outcome.REJECTED, "queue_full", 1, 0);
    add(2, "demo", "a", Outcome.CLIENT_CLOSED, "client_closed", 3000, 1);
    String out = report().render();
    // the row of demo @ p-a holds 120 requests (the 5 refused ones have no provider); rates are of the
    // 118 served (2 client_closed are not the deployment's doing)
    List<String> demo = cells(out, "demo @ p-a");
    assertThat(demo.subList(0, 5)).containsExactly("120", "84.7%", "8.5%", "4.2%", "2.5%");
    assertThat(cells(out, "demo @ -").get(0)).isEqualTo("5");
    assertThat(cells(out, "all").get(0)).isEqualTo("125");
    assertThat(demo.get(9)).isEqualTo("20.8%"); // 25 of the 120 were retried
  }

  @Test
  void anEmptyWindowAndASingleRequestHaveNoNaN() throws Exception {
    String empty = report().render();
    assertThat(empty).doesNotContain("NaN").doesNotContain("Infinity").contains("nothing stands out in this window");
    assertThat(cells(empty, "all")).containsExactly("0", "0.0%", "0.0%", "0.0%", "0.0%", "-", "-", "-", "-", "0.0%");
    add(1, "demo", "a", Outcome.SUCCESS, null, 250, 1);
    String one = report().render();
    assertThat(one).doesNotContain("NaN").doesNotContain("Infinity").contains("nothing stands out in this window");
    assertThat(cells(one, "a").subList(0, 5)).containsExactly("1", "100.0%", "0.0%", "0.0%", "0.0%");
    assertThat(cells(one, "a").get(8)).isEqualTo("-"); // no first token recorded
  }

  @Test
  void percentilesShowTheLoggedLatencies() throws Exception {
    add(1, "demo", "a", Outcome.SUCCESS, null, 123.4, 1);
    add(1, "demo", "b", Outcome.SUCCESS, null, 1000, 1);
    String out = report().render();
    // one request: its p50, p95 and p99 are its latency, to the 0.1 ms the table shows
    assertThat(cells(out, "a").subList(5, 8)).containsExactly("123.4", "123.4", "123.4");
    assertThat(cells(out, "b").subList(5, 8)).containsExactly("1000.2", "1000.2", "1000.2"); // within 0.05%
  }

  @Test
  void retriesAndSheddingRulesFireOnlyOnEnoughData() throws Exception {
    add(15, "demo", "a", Outcome.UPSTREAM_ERROR, "upstream_status_503", 100, 3);
    add(5, "demo", "a", Outcome.SUCCESS, null, 100, 2);
    add(80, "demo", "a", Outcome.SUCCESS, null, 100, 1);
    add(6, "demo", null, Outcome.REJECTED, "queue_full", 1, 0);
    String recs = recs(report());
    assertThat(recs).contains("retries rarely help: only 25% of retried requests succeeded");
    assertThat(recs).contains("the queue shed 5.7% of requests");
  }

  /** A hedge is a second attempt but not a retry: hedged requests that failed do not say retries fail. */
  @Test
  void aHedgeIsNotCountedAsARetry() throws Exception {
    for (int i = 0; i < 30; i++) {
      rows.add(RequestRecord.builder().id("h" + (seq++)).start(BASE + seq).endpoint("chat").model("demo")
          .provider("p-a").deployment("a").status(504).outcome(Outcome.TIMEOUT).error("deadline_exceeded", "x")
          .latencyMs(100).attempts(2).hedged(true).build());
    }
    add(10, "demo", "a", Outcome.SUCCESS, null, 100, 2); // retried and answered
    add(60, "demo", "a", Outcome.SUCCESS, null, 100, 1);
    LogReport r = report();
    assertThat(recs(r)).doesNotContain("retries rarely help");
    assertThat(cells(r.render(), "all").get(9)).as("10 of 100 retried").isEqualTo("10.0%");
  }

  @Test
  void smallSamplesStaySilent() throws Exception {
    add(10, "demo", "a", Outcome.UPSTREAM_ERROR, "upstream_status_503", 100, 3);
    add(9, "demo", "a", Outcome.TIMEOUT, "first_byte_timeout", 100, 3);
    add(4, "demo", null, Outcome.REJECTED, "queue_full", 1, 0); // 23 requests, but 19 served and 4 retried
    assertThat(report().recommendations()).containsExactly("the queue shed 17.4% of requests; capacity is short of"
        + " demand — add deployments, raise concurrency limits, or give clients longer deadlines");
  }
}
