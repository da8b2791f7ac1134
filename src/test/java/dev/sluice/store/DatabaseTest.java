package dev.sluice.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.sluice.config.Secret;
import dev.sluice.config.StoreConfig;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteOpenMode;

/** The SQLite store's connection settings, and that its pool is safe with them. */
class DatabaseTest {
  @TempDir
  Path tmp;

  private Database open() {
    StoreConfig c = new StoreConfig("sqlite:" + tmp.resolve("t.db"), null, Secret.empty(), Duration.ofDays(1), 100,
        1000);
    return Database.open(c, tmp);
  }

  @Test
  void sqliteConnectionsOpenWithoutSqlitesOwnMutex() {
    try (Database db = open()) {
      String url = ((HikariDataSource) db.dataSource()).getJdbcUrl();
      assertThat(url).contains("open_mode=" + Database.SQLITE_OPEN_MODE);
      assertThat(Database.SQLITE_OPEN_MODE & SQLiteOpenMode.NOMUTEX.flag).isNotZero();
      assertThat(Database.SQLITE_OPEN_MODE & SQLiteOpenMode.FULLMUTEX.flag).isZero();
      assertThat(Database.SQLITE_OPEN_MODE & SQLiteOpenMode.READWRITE.flag).isNotZero();
    }
  }

  /**
   * Without SQLite's mutex a connection must never be used by two threads at once: the pool lends
   * each to one borrower. Writers and readers on every pooled connection at once, repeatedly, must
   * lose nothing and see no error.
   */
  @Test
  void poolConnectionsServeManyThreadsAtOnce() throws Exception {
    int threads = 6;
    int rounds = 150;
    int perInsert = 10;
    try (Database db = open()) {
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Long>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int thread = t;
          results.add(pool.submit(() -> {
            go.await();
            long seen = 0;
            for (int r = 0; r < rounds; r++) {
              try (Connection c = db.dataSource().getConnection()) {
                if (r % 2 == 0) {
                  c.setAutoCommit(false);
                  List<RequestRecord> batch = new ArrayList<>();
                  for (int i = 0; i < perInsert; i++) {
                    batch.add(RequestRecord.builder().id("t" + thread + "-" + r + "-" + i).start(1_000L + r)
                        .endpoint("chat").model("m").status(200).outcome(Outcome.SUCCESS).latencyMs(1).attempts(1)
                        .build());
                  }
                  try (PreparedStatement ps = RequestLog.prepareInsert(c)) {
                    RequestLog.insert(ps, batch);
                  }
                  c.commit();
                } else {
                  try (Statement st = c.createStatement();
                      ResultSet rs = st.executeQuery("SELECT count(*) FROM request_log")) {
                    rs.next();
                    seen = Math.max(seen, rs.getLong(1));
                  }
                }
              }
            }
            return seen;
          }));
        }
        go.countDown();
        for (Future<Long> f : results) {
          assertThat(f.get()).isPositive();
        }
      } finally {
        pool.shutdownNow();
      }
      try (Connection c = db.dataSource().getConnection(); Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT request_id) FROM request_log")) {
        rs.next();
        long expected = (long) threads * (rounds / 2 + rounds % 2) * perInsert;
        assertThat(rs.getLong(1)).isEqualTo(expected);
        assertThat(rs.getLong(2)).isEqualTo(expected);
      }
    }
  }
}
