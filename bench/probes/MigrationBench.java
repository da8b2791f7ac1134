import dev.sluice.config.Secret;
import dev.sluice.config.StoreConfig;
import dev.sluice.store.Database;
import dev.sluice.store.LogFilter;
import dev.sluice.store.RequestLogReader;
import dev.sluice.store.RequestLog;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.core.Flyway;

/**
 * How long the first start after an upgrade takes on an SQLite request log: builds a log of N rows
 * with the first schema only (Flyway target 1), then times {@code Database.open}, which applies the
 * later migrations (migration 2 copies the table), shows what the files take after it, and times
 * a page of {@code GET /admin/requests} filtered on a model the log does not hold, with no time
 * range (the query the dropped (model, ts) index used to serve). Run from the project root after a
 * build:
 *
 * <pre>java -cp target/sluice.jar bench/probes/MigrationBench.java 1000000</pre>
 */
public class MigrationBench {
  public static void main(String[] args) throws Exception {
    int rows = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    Path dir = Files.createTempDirectory("migration-bench-");
    Path file = dir.resolve("sluice.db");
    String url = "jdbc:sqlite:" + file;
    Flyway.configure().dataSource(url, null, null).locations("classpath:db/migration/sqlite").target("1")
        .load().migrate();
    try (Connection c = DriverManager.getConnection(url); PreparedStatement ps = RequestLog.prepareInsert(c)) {
      c.setAutoCommit(false);
      List<RequestRecord> batch = new ArrayList<>(1000);
      long start = System.currentTimeMillis() - rows;
      for (int i = 0; i < rows; i++) {
        batch.add(RequestRecord.builder().id("req-" + i).start(start + i).endpoint("/v1/chat/completions")
            .model("demo").provider("sim").deployment("sim-fast").status(200).outcome(Outcome.SUCCESS)
            .latencyMs(12.5).firstTokenMs(3).attempts(1).route("sim-fast:200").tokens(12, 40)
            .deadlineMs(170_000).priority("normal").overheadMs(0.2).build());
        if (batch.size() == 1000 || i == rows - 1) {
          RequestLog.insert(ps, batch);
          c.commit();
          batch.clear();
        }
      }
    }
    System.out.printf("a first-schema log of %,d rows: %,d MiB%n", rows, Files.size(file) >> 20);
    long t0 = System.nanoTime();
    Database db = Database.open(new StoreConfig("sqlite:" + file, null, Secret.empty(), Duration.ofDays(3650), 100,
        1000), dir);
    System.out.printf("upgraded (Database.open) in %.2f s%n", (System.nanoTime() - t0) / 1e9);
    Path wal = Path.of(file + "-wal");
    System.out.printf("after the upgrade, connections open: %,d MiB file, %,d MiB write-ahead log%n",
        Files.size(file) >> 20, Files.exists(wal) ? Files.size(wal) >> 20 : 0);
    long t1 = System.nanoTime();
    int found = new RequestLogReader(db).page(new LogFilter(-1, -1, "no-such-model", null, null, null, -1, 50))
        .rows().size();
    System.out.printf("a page for a model the log does not hold, no time range (a scan of every row): %d rows in %.0f ms%n",
        found, (System.nanoTime() - t1) / 1e6);
    db.close();
    try (var files = Files.list(dir)) {
      for (Path p : files.toList()) {
        Files.delete(p);
      }
    }
    Files.delete(dir);
  }
}
