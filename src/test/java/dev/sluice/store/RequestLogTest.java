package dev.sluice.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.sluice.config.Secret;
import dev.sluice.config.StoreConfig;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.EmbeddedPg;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The request log against both stores it supports — an SQLite file and a real PostgreSQL server
 * (embedded, from a Maven artifact) — with the same schema, created by the same Flyway migrations:
 * batched writes, reading back every field, cursor pagination, filters, retention, and the bounded
 * buffer when the store goes away and comes back.
 */
class RequestLogTest {
  enum Kind { SQLITE, POSTGRES }

  private static EmbeddedPg pg;
  private static final long BASE = 1_790_000_000_000L; // a fixed instant: rows are placed by ts, not by the clock

  @TempDir
  Path tmp;

  private final List<AutoCloseable> open = new ArrayList<>();
  private String sqliteFile;

  @BeforeAll
  static void startPostgres() {
    pg = EmbeddedPg.start();
  }

  @AfterAll
  static void stopPostgres() {
    pg.close();
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private StoreConfig config(Kind kind, int batch, int buffer, Duration retention) {
    String url;
    if (kind == Kind.POSTGRES) {
      url = pg.newDatabase();
    } else {
      sqliteFile = tmp.resolve("log-" + System.nanoTime() + ".db").toString();
      url = "sqlite:" + sqliteFile;
    }
    return new StoreConfig(url, null, Secret.empty(), retention, batch, buffer);
  }

  private Database db(StoreConfig c) {
    Database db = Database.open(c, tmp);
    open.add(db);
    return db;
  }

  private RequestLog log(Database db, StoreConfig c, AtomicLong wall) {
    RequestLog log = new RequestLog(db, c, wall::get);
    open.add(log);
    return log;
  }

  private static RequestRecord rec(int i, long ts, String model, String provider, String key, Outcome outcome) {
    boolean ok = outcome == Outcome.SUCCESS;
    return RequestRecord.builder()
        .id("req-" + i).start(ts).key(key).endpoint("chat").model(model).provider(provider)
        .deployment(provider == null ? null : provider + "-dep")
        .status(ok ? 200 : outcome.defaultStatus()).outcome(outcome)
        .error(ok ? null : "type_" + outcome.label(), ok ? null : "message " + i)
        .latencyMs(10 + i).firstTokenMs(i % 2 == 0 ? 5 + i : -1).attempts(1 + i % 3)
        .route(provider + "-dep:" + (ok ? "200" : "503")).hedged(i % 5 == 0).stream(i % 2 == 0)
        .cache(i % 4 == 0 ? "miss" : null).tokens(3 + i, i % 2 == 0 ? 7 + i : -1)
        .deadlineMs(30_000).priority("normal").overheadMs(0.25 + i / 1000.0)
        .build();
  }

  /** 60 rows, one second apart, over three models, two providers, two keys (and none), three outcomes. */
  private static List<RequestRecord> dataset() {
    List<RequestRecord> out = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      String model = "m-" + "abc".charAt(i % 3);
      String provider = i % 2 == 0 ? "p1" : "p2";
      String key = i % 4 == 0 ? "k1" : i % 4 == 1 ? "k2" : null;
      Outcome o = i % 5 == 0 ? Outcome.TIMEOUT : i % 7 == 0 ? Outcome.UPSTREAM_ERROR : Outcome.SUCCESS;
      out.add(rec(i, BASE + i * 1000L, model, provider, key, o));
    }
    return out;
  }

  private static void writeAll(RequestLog log, List<RequestRecord> records) {
    long before = log.written();
    records.forEach(log::record);
    await().atMost(Duration.ofSeconds(30)).until(() -> log.written() == before + records.size());
    assertThat(log.dropped()).isZero();
  }

  private static List<JsonObject> allPages(RequestLogReader reader, LogFilter f) throws SQLException {
    List<JsonObject> rows = new ArrayList<>();
    Set<String> cursors = new HashSet<>();
    LogFilter next = f;
    while (true) {
      RequestLogReader.Page p = reader.page(next);
      assertThat(p.rows().size()).isLessThanOrEqualTo(f.limit());
      rows.addAll(p.rows());
      if (p.nextCursor() == null) {
        return rows;
      }
      assertThat(p.rows()).hasSize(f.limit()); // a page that is not the last is full
      assertThat(cursors.add(p.nextCursor())).as("cursors never repeat").isTrue();
      next = new LogFilter(f.sinceMillis(), f.untilMillis(), f.model(), f.provider(), f.key(), f.outcome(),
          LogFilter.decodeCursor(p.nextCursor()), f.limit());
    }
  }

  private static <T> List<T> reversed(List<T> list) {
    List<T> out = new ArrayList<>(list);
    java.util.Collections.reverse(out);
    return out;
  }

  private static List<String> ids(List<JsonObject> rows) {
    return rows.stream().map(r -> r.getString("request_id")).toList();
  }

  private static long rowCount(Database db) throws SQLException {
    return number(db, "SELECT count(*) FROM request_log");
  }

  /** The one number a query answers. */
  private static long number(Database db, String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection(); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * A NUL in a value from outside (a model name a client sent, an error message quoting a
   * provider) is stored as U+FFFD. PostgreSQL refuses U+0000 in text: unreplaced, that one value
   * failed its whole transaction and every record in it was lost.
   */
  @ParameterizedTest
  @EnumSource(Kind.class)
  void aNulInAValueFromOutsideCostsNoRecord(Kind kind) throws Exception {
    StoreConfig c = config(kind, 100, 5000, Duration.ofDays(7));
    Database db = db(c);
    RequestLog log = log(db, c, new AtomicLong(BASE));
    List<RequestRecord> records = new ArrayList<>();
    for (int i = 0; i < 99; i++) {
      records.add(rec(i, BASE + i, "m", "p", "k", Outcome.UPSTREAM_ERROR));
    }
    records.add(RequestRecord.builder().id("req-nul\u0000").start(BASE + 100).key("k\u0000").model("m\u0000odel")
        .status(502).outcome(Outcome.UPSTREAM_ERROR).error("upstream\u0000reset", "broke \u0000 here").latencyMs(1)
        .attempts(1).build());
    writeAll(log, records);
    assertThat(log.dropped()).isZero();
    assertThat(log.degraded()).isFalse();
    List<JsonObject> rows = new ArrayList<>();
    new RequestLogReader(db).export(LogFilter.all(), rows::add);
    JsonObject nul = rows.get(0);
    assertThat(nul.getString("request_id")).isEqualTo("req-nul\uFFFD");
    assertThat(nul.getString("key_id")).isEqualTo("k\uFFFD");
    assertThat(nul.getString("model")).isEqualTo("m\uFFFDodel");
    assertThat(nul.getString("error_type")).isEqualTo("upstream\uFFFDreset");
    assertThat(nul.getString("error_message")).isEqualTo("broke \uFFFD here");
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void recordsAreWrittenInBatchesAndReadBackWithEveryField(Kind kind) throws Exception {
    StoreConfig c = config(kind, 10, 5000, Duration.ofDays(7));
    Database db = db(c);
    RequestLog log = log(db, c, new AtomicLong(BASE));
    List<RequestRecord> records = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      records.add(rec(i, BASE + i, "m", "p", "k", i % 2 == 0 ? Outcome.SUCCESS : Outcome.UPSTREAM_ERROR));
    }
    RequestRecord bare = RequestRecord.builder().id("bare").start(BASE + 5000).status(400)
        .outcome(Outcome.REJECTED).latencyMs(0.5).build(); // every optional field unset
    RequestRecord longMessage = RequestRecord.builder().id("long").start(BASE + 5001).status(502)
        .outcome(Outcome.UNAVAILABLE).error("upstream_connect_error", "x".repeat(1500)).latencyMs(1).build();
    records.add(bare);
    records.add(longMessage);
    writeAll(log, records);
    assertThat(rowCount(db)).isEqualTo(records.size());

    RequestLogReader reader = new RequestLogReader(db);
    List<JsonObject> rows = new ArrayList<>();
    reader.export(LogFilter.all(), rows::add);
    assertThat(ids(rows)).containsExactlyElementsOf(
        reversed(records).stream().map(RequestRecord::id).toList());

    JsonObject r7 = rows.stream().filter(r -> r.getString("request_id").equals("req-6")).findFirst().orElseThrow();
    RequestRecord e = records.get(6);
    assertThat(r7.fieldNames()).containsExactlyInAnyOrder("id", "request_id", "ts", "key_id", "endpoint", "model",
        "provider", "deployment", "status", "outcome", "error_type", "error_message", "latency_ms", "first_token_ms",
        "attempts", "route", "hedged", "stream", "cache", "prompt_tokens", "completion_tokens", "deadline_ms",
        "priority", "overhead_ms");
    assertThat(r7.getLong("ts")).isEqualTo(e.startEpochMillis());
    assertThat(r7.getString("key_id")).isEqualTo("k");
    assertThat(r7.getString("endpoint")).isEqualTo("chat");
    assertThat(r7.getString("model")).isEqualTo("m");
    assertThat(r7.getString("provider")).isEqualTo("p");
    assertThat(r7.getString("deployment")).isEqualTo("p-dep");
    assertThat(r7.getInteger("status")).isEqualTo(200);
    assertThat(r7.getString("outcome")).isEqualTo("success");
    assertThat(r7.getValue("error_type")).isNull();
    assertThat(r7.getValue("error_message")).isNull();
    assertThat(r7.getDouble("latency_ms")).isEqualTo(16.0);
    assertThat(r7.getDouble("first_token_ms")).isEqualTo(11.0);
    assertThat(r7.getInteger("attempts")).isEqualTo(1);
    assertThat(r7.getString("route")).isEqualTo("p-dep:200");
    assertThat(r7.getBoolean("hedged")).isFalse();
    assertThat(r7.getBoolean("stream")).isTrue();
    assertThat(r7.getValue("cache")).isNull();
    assertThat(r7.getInteger("prompt_tokens")).isEqualTo(9);
    assertThat(r7.getInteger("completion_tokens")).isEqualTo(13);
    assertThat(r7.getDouble("deadline_ms")).isEqualTo(30_000.0);
    assertThat(r7.getString("priority")).isEqualTo("normal");
    assertThat(r7.getDouble("overhead_ms")).isEqualTo(0.256);

    JsonObject r5 = rows.stream().filter(r -> r.getString("request_id").equals("req-5")).findFirst().orElseThrow();
    assertThat(r5.getString("outcome")).isEqualTo("upstream_error");
    assertThat(r5.getInteger("status")).isEqualTo(502);
    assertThat(r5.getString("error_type")).isEqualTo("type_upstream_error");
    assertThat(r5.getString("error_message")).isEqualTo("message 5");
    assertThat(r5.getBoolean("hedged")).isTrue();
    assertThat(r5.getBoolean("stream")).isFalse();
    assertThat(r5.getValue("first_token_ms")).isNull();
    assertThat(r5.getValue("completion_tokens")).isNull();
    assertThat(r5.getInteger("attempts")).isEqualTo(3);

    JsonObject b = rows.stream().filter(r -> r.getString("request_id").equals("bare")).findFirst().orElseThrow();
    for (String f : List.of("key_id", "endpoint", "model", "provider", "deployment", "error_type", "error_message",
        "first_token_ms", "cache", "prompt_tokens", "completion_tokens", "deadline_ms", "priority", "overhead_ms")) {
      assertThat(b.containsKey(f)).as(f).isTrue();
      assertThat(b.getValue(f)).as(f).isNull();
    }
    assertThat(b.getString("outcome")).isEqualTo("rejected");
    assertThat(b.getDouble("latency_ms")).isEqualTo(0.5);
    assertThat(b.getInteger("attempts")).isZero();
    assertThat(b.getString("route")).isEmpty();

    JsonObject l = rows.stream().filter(r -> r.getString("request_id").equals("long")).findFirst().orElseThrow();
    assertThat(l.getString("error_message")).hasSize(1000); // messages are cut, not refused

    if (kind == Kind.POSTGRES) {
      // rows inserted by one transaction share xmin: each transaction held at most MAX_CHUNKS_PER_COMMIT
      // chunks of batch_size rows, and offering 1,000 records at once let the writer join chunks
      try (Connection conn = db.dataSource().getConnection(); Statement st = conn.createStatement();
          ResultSet rs = st.executeQuery("SELECT count(*) AS n FROM request_log GROUP BY xmin::text")) {
        List<Integer> sizes = new ArrayList<>();
        while (rs.next()) {
          sizes.add(rs.getInt(1));
        }
        assertThat(sizes).allSatisfy(n -> assertThat(n).isBetween(1, 10 * RequestLog.MAX_CHUNKS_PER_COMMIT));
        assertThat(sizes.size()).isLessThan(records.size() / 10)
            .isGreaterThanOrEqualTo(records.size() / (10 * RequestLog.MAX_CHUNKS_PER_COMMIT));
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void aBacklogIsCommittedSeveralChunksAtATime(Kind kind) throws Exception {
    StoreConfig c = config(kind, 100, 10_000, Duration.ofDays(7));
    RequestLog log = log(db(c), c, new AtomicLong(BASE));
    List<RequestRecord> burst = new ArrayList<>();
    for (int i = 0; i < 5000; i++) {
      burst.add(rec(i, BASE + i, "m", "p", null, Outcome.SUCCESS));
    }
    writeAll(log, burst);
    // one transaction per chunk would be 50; a backlog joins up to 10 chunks per commit
    assertThat(log.transactions()).isBetween(5L, 25L);
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void aTrickleIsGatheredIntoChunksRatherThanCommittedRecordByRecord(Kind kind) throws Exception {
    StoreConfig c = config(kind, 100, 10_000, Duration.ofDays(7));
    RequestLog log = log(db(c), c, new AtomicLong(BASE));
    for (int i = 0; i < 100; i++) {
      log.record(rec(i, BASE + i, "m", "p", null, Outcome.SUCCESS));
      Thread.sleep(1);
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> log.written() == 100);
    // a record a millisecond, and the writer waits up to 100 ms for a chunk to fill: a handful of
    // commits, where a writer that woke for each record would make about a hundred
    assertThat(log.transactions()).isLessThanOrEqualTo(40);
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void theSameMigrationsMakeTheSameSchemaAndRunOnce(Kind kind) throws Exception {
    StoreConfig c = config(kind, 10, 100, Duration.ofDays(7));
    Database first = Database.open(c, tmp);
    first.close();
    Database again = db(c); // a second start finds the schema current and leaves it alone
    try (Connection conn = again.dataSource().getConnection(); Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT version, success FROM flyway_schema_history WHERE version IS NOT NULL"
            + " ORDER BY installed_rank")) {
      for (String version : List.of("1", "2")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo(version);
        assertThat(rs.getBoolean(2)).isTrue();
      }
      assertThat(rs.next()).isFalse();
    }
    assertThat(logIndexes(again)).as("only the time index: every index costs the writer per row")
        .containsExactly("request_log_ts");
    try (Connection conn = again.dataSource().getConnection()) {
      List<String> cols = new ArrayList<>();
      try (ResultSet rs = conn.getMetaData().getColumns(null, null, "request_log", null)) {
        while (rs.next()) {
          cols.add(rs.getString("COLUMN_NAME").toLowerCase(java.util.Locale.ROOT));
        }
      }
      assertThat(cols).containsExactly("id", "request_id", "ts", "key_id", "endpoint", "model", "provider",
          "deployment", "status", "outcome", "error_type", "error_message", "latency_ms", "first_token_ms", "attempts",
          "route", "hedged", "stream", "cache", "prompt_tokens", "completion_tokens", "deadline_ms", "priority",
          "overhead_ms");
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void cursorPaginationWalksEveryRowExactlyOnceNewestFirst(Kind kind) throws Exception {
    StoreConfig c = config(kind, 100, 5000, Duration.ofDays(7));
    Database db = db(c);
    RequestLog log = log(db, c, new AtomicLong(BASE));
    List<RequestRecord> records = new ArrayList<>();
    for (int i = 0; i < 237; i++) {
      records.add(rec(i, BASE + i * 10L, i % 3 == 0 ? "m-a" : "m-b", "p1", null, Outcome.SUCCESS));
    }
    writeAll(log, records);
    RequestLogReader reader = new RequestLogReader(db);

    List<JsonObject> rows = allPages(reader, new LogFilter(-1, -1, null, null, null, null, -1, 50));
    List<String> expected = IntStream.iterate(236, i -> i >= 0, i -> i - 1).mapToObj(i -> "req-" + i).toList();
    assertThat(ids(rows)).containsExactlyElementsOf(expected);
    assertThat(rows.stream().map(r -> r.getLong("id")).distinct().count()).isEqualTo(237);
    for (int i = 1; i < rows.size(); i++) {
      assertThat(rows.get(i).getLong("id")).isLessThan(rows.get(i - 1).getLong("id"));
      assertThat(rows.get(i).getLong("ts")).isLessThan(rows.get(i - 1).getLong("ts"));
    }

    // a filter and a cursor together: pages of 7 through model m-a only
    List<JsonObject> a = allPages(reader, new LogFilter(-1, -1, "m-a", null, null, null, -1, 7));
    assertThat(ids(a)).containsExactlyElementsOf(expected.stream()
        .filter(id -> Integer.parseInt(id.substring(4)) % 3 == 0).toList());

    // a page of exactly the rows left ends the walk: no empty page after it
    RequestLogReader.Page whole = reader.page(new LogFilter(-1, -1, null, null, null, null, -1, 237));
    assertThat(whole.rows()).hasSize(237);
    assertThat(whole.nextCursor()).isNull();
    RequestLogReader.Page one = reader.page(new LogFilter(-1, -1, null, null, null, null, -1, 236));
    assertThat(one.nextCursor()).isNotNull();
    assertThat(reader.page(new LogFilter(-1, -1, null, null, null, null, LogFilter.decodeCursor(one.nextCursor()), 236))
        .rows()).extracting(r -> r.getString("request_id")).containsExactly("req-0");
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void everyFilterSelectsExactlyItsRows(Kind kind) throws Exception {
    StoreConfig c = config(kind, 25, 5000, Duration.ofDays(7));
    Database db = db(c);
    RequestLog log = log(db, c, new AtomicLong(BASE));
    List<RequestRecord> data = dataset();
    writeAll(log, data);
    RequestLogReader reader = new RequestLogReader(db);

    record Case(String name, LogFilter filter, Predicate<RequestRecord> expected) {}
    long since = BASE + 20_000;
    long until = BASE + 40_000;
    List<Case> cases = List.of(
        new Case("since (inclusive)", f(since, -1, null, null, null, null), r -> r.startEpochMillis() >= since),
        new Case("until (exclusive)", f(-1, until, null, null, null, null), r -> r.startEpochMillis() < until),
        new Case("since and until", f(since, until, null, null, null, null),
            r -> r.startEpochMillis() >= since && r.startEpochMillis() < until),
        new Case("model", f(-1, -1, "m-b", null, null, null), r -> r.model().equals("m-b")),
        new Case("provider", f(-1, -1, null, "p2", null, null), r -> r.provider().equals("p2")),
        new Case("key", f(-1, -1, null, null, "k1", null), r -> "k1".equals(r.keyId())),
        new Case("outcome", f(-1, -1, null, null, null, "timeout"), r -> r.outcome() == Outcome.TIMEOUT),
        new Case("outcome upstream_error", f(-1, -1, null, null, null, "upstream_error"),
            r -> r.outcome() == Outcome.UPSTREAM_ERROR),
        new Case("all of them", f(BASE + 5_000, BASE + 55_000, "m-a", "p1", "k1", "success"),
            r -> r.startEpochMillis() >= BASE + 5_000 && r.startEpochMillis() < BASE + 55_000
                && r.model().equals("m-a") && r.provider().equals("p1") && "k1".equals(r.keyId())
                && r.outcome() == Outcome.SUCCESS),
        new Case("nothing matches", f(-1, -1, "m-zzz", null, null, null), r -> false));
    for (Case cs : cases) {
      List<String> want = reversed(data).stream().filter(cs.expected()).map(RequestRecord::id).toList();
      if (!cs.name().equals("nothing matches")) {
        assertThat(want).as(cs.name() + ": the dataset must exercise the filter").isNotEmpty()
            .hasSizeLessThan(data.size());
      }
      assertThat(ids(allPages(reader, cs.filter()))).as(cs.name() + " (pages)").containsExactlyElementsOf(want);
      List<JsonObject> exported = new ArrayList<>();
      assertThat(reader.export(cs.filter(), exported::add)).isEqualTo(want.size());
      assertThat(ids(exported)).as(cs.name() + " (export)").containsExactlyElementsOf(want);
    }
  }

  private static LogFilter f(long since, long until, String model, String provider, String key, String outcome) {
    return new LogFilter(since, until, model, provider, key, outcome, -1, 4);
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void pruneOlderThanDeletesOldRowsInChunksAndKeepsTheRest(Kind kind) throws Exception {
    // a retention far longer than the rows' age, so that the writer's own background pass (which
    // runs as it starts) leaves them to the explicit call below
    StoreConfig c = config(kind, 1000, 20_000, Duration.ofDays(3650));
    Database db = db(c);
    RequestLog log = log(db, c, new AtomicLong(BASE));
    long day = 24 * 3600_000L;
    List<RequestRecord> records = new ArrayList<>();
    for (int i = 0; i < 12_345; i++) { // more than one prune chunk (10,000)
      records.add(rec(i, BASE - 8 * day - i, "m", "p", null, Outcome.SUCCESS));
    }
    records.add(rec(20_000, BASE - 7 * day, "m", "p", null, Outcome.SUCCESS)); // exactly at the cutoff: kept
    records.add(rec(20_001, BASE - 3600_000L, "m", "p", null, Outcome.SUCCESS));
    writeAll(log, records);
    assertThat(log.pruneOlderThan(BASE - 7 * day)).isEqualTo(12_345);
    assertThat(log.pruned()).isEqualTo(12_345);
    List<JsonObject> left = new ArrayList<>();
    new RequestLogReader(db).export(LogFilter.all(), left::add);
    assertThat(ids(left)).containsExactly("req-20001", "req-20000");
    assertThat(log.pruneOlderThan(BASE - 7 * day)).isZero();
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void aLargeBackgroundPruneLetsTheWriterWriteBetweenItsChunks(Kind kind) throws Exception {
    StoreConfig c = config(kind, 1000, 40_000, Duration.ofDays(3650));
    Database db = db(c);
    AtomicLong wall = new AtomicLong(BASE);
    RequestLog log = log(db, c, wall);
    List<RequestRecord> old = new ArrayList<>();
    for (int i = 0; i < 25_000; i++) { // three prune chunks (10,000 each)
      old.add(rec(i, BASE - 8 * 24 * 3600_000L, "m", "p", null, Outcome.SUCCESS));
    }
    writeAll(log, old);
    long before = log.written();
    List<Long> writtenAfterChunk = java.util.Collections.synchronizedList(new ArrayList<>());
    log.afterPruneChunk = n -> {
      if (writtenAfterChunk.isEmpty()) {
        log.record(rec(30_000, BASE, "m", "p", null, Outcome.SUCCESS)); // arrives during the prune
      }
      writtenAfterChunk.add(log.written());
    };
    wall.set(BASE + Duration.ofDays(3651).toMillis()); // every row is now past retention: a pass is due

    await().atMost(Duration.ofSeconds(60)).until(() -> writtenAfterChunk.size() >= 3 && log.written() == before + 1);
    assertThat(writtenAfterChunk.get(0)).isEqualTo(before);
    assertThat(writtenAfterChunk.get(1)).as("the record that came during the prune waited for one chunk only")
        .isEqualTo(before + 1);
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void pruningKeepsTheNewestRowSoThatIdsNeverGoBack(Kind kind) throws Exception {
    StoreConfig c = config(kind, 100, 1000, Duration.ofDays(3650));
    Database db = db(c);
    RequestLog log = log(db, c, new AtomicLong(BASE));
    long day = 24 * 3600_000L;
    writeAll(log, List.of(rec(1, BASE - 9 * day, "m", "p", null, Outcome.SUCCESS),
        rec(2, BASE - 8 * day, "m", "p", null, Outcome.SUCCESS)));
    long newest = maxId(db);
    assertThat(log.pruneOlderThan(BASE)).as("everything is old; all but the newest row go").isEqualTo(1);
    List<JsonObject> left = new ArrayList<>();
    new RequestLogReader(db).export(LogFilter.all(), left::add);
    assertThat(ids(left)).containsExactly("req-2");
    writeAll(log, List.of(rec(3, BASE, "m", "p", null, Outcome.SUCCESS)));
    assertThat(maxId(db)).as("a row written after the prune comes after every id handed out").isGreaterThan(newest);
  }

  @Test
  void anSqliteLogFromTheFirstSchemaKeepsItsRowsAndIdsWhenUpgraded() throws Exception {
    StoreConfig c = config(Kind.SQLITE, 100, 1000, Duration.ofDays(3650));
    String url = "jdbc:sqlite:" + sqliteFile;
    Flyway.configure().dataSource(url, null, null).locations("classpath:db/migration/sqlite").target("1")
        .load().migrate();
    try (Connection conn = DriverManager.getConnection(url)) {
      conn.setAutoCommit(false);
      try (var ps = RequestLog.prepareInsert(conn)) {
        RequestLog.insert(ps, List.of(rec(1, BASE, "m-a", "p1", "k1", Outcome.SUCCESS),
            rec(2, BASE + 1, "m-b", "p2", null, Outcome.TIMEOUT), rec(3, BASE + 2, "m-a", "p1", null, Outcome.SUCCESS)));
      }
      try (Statement st = conn.createStatement()) {
        st.executeUpdate("DELETE FROM request_log WHERE request_id = 'req-1'"); // ids need not start at 1
      }
      conn.commit();
    }
    List<List<Object>> before = allColumns(url);
    Database db = db(c); // opening it applies V2 to the V1 file
    assertThat(allColumns(url)).as("every row and column, ids included, as they were").isEqualTo(before);
    assertThat(before).hasSize(2);
    assertThat(before.get(0).get(0)).isEqualTo("id=2");
    assertThat(tableSql(url)).containsIgnoringCase("request_log").doesNotContainIgnoringCase("AUTOINCREMENT");
    assertThat(logIndexes(db)).containsExactly("request_log_ts");
    RequestLog log = log(db, c, new AtomicLong(BASE));
    writeAll(log, List.of(rec(4, BASE + 3, "m-a", "p1", null, Outcome.SUCCESS)));
    assertThat(maxId(db)).isEqualTo(4);
  }

  /** Every row of the log, every column, in id order, read with a plain connection. */
  private static List<List<Object>> allColumns(String url) throws SQLException {
    List<List<Object>> rows = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT * FROM request_log ORDER BY id")) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<Object> row = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
          row.add(rs.getMetaData().getColumnName(i) + "=" + rs.getObject(i));
        }
        rows.add(row);
      }
    }
    return rows;
  }

  private static String tableSql(String url) throws SQLException {
    try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'request_log'")) {
      assertThat(rs.next()).isTrue();
      return rs.getString(1);
    }
  }

  private static long maxId(Database db) throws SQLException {
    return number(db, "SELECT max(id) FROM request_log");
  }

  private static List<String> logIndexes(Database db) throws SQLException {
    List<String> names = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        ResultSet rs = c.getMetaData().getIndexInfo(null, null, "request_log", false, false)) {
      while (rs.next()) {
        String name = rs.getString("INDEX_NAME");
        name = name == null ? null : name.toLowerCase(java.util.Locale.ROOT);
        if (name != null && !name.endsWith("_pkey") && !names.contains(name)) {
          names.add(name);
        }
      }
    }
    return names;
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void theWriterPrunesInTheBackgroundAfterTheRetentionPeriod(Kind kind) throws Exception {
    StoreConfig c = config(kind, 100, 1000, Duration.ofHours(1));
    Database db = db(c);
    AtomicLong wall = new AtomicLong(BASE);
    RequestLog log = log(db, c, wall);
    writeAll(log, List.of(
        rec(1, BASE - 2 * 3600_000L, "m", "p", null, Outcome.SUCCESS),
        rec(2, BASE - 61 * 60_000L, "m", "p", null, Outcome.SUCCESS),
        rec(3, BASE - 10 * 60_000L, "m", "p", null, Outcome.SUCCESS)));
    // the writer prunes once a minute of its wall clock: a minute later, rows older than an hour go
    wall.addAndGet(61_000);
    await().atMost(Duration.ofSeconds(10)).until(() -> log.pruned() == 2);
    List<JsonObject> left = new ArrayList<>();
    new RequestLogReader(db).export(LogFilter.all(), left::add);
    assertThat(ids(left)).containsExactly("req-3");
  }

  /** Takes a store away and gives it back. */
  private interface Outage {
    void begin() throws Exception;

    void end() throws Exception;
  }

  private Outage outage(Kind kind) {
    if (kind == Kind.POSTGRES) {
      return new Outage() {
        @Override
        public void begin() {
          pg.stop();
        }

        @Override
        public void end() {
          pg.restart();
        }
      };
    }
    // SQLite cannot be "stopped": another connection holding the write lock makes every write fail
    // (SQLITE_BUSY after busy_timeout), which is what a locked or unwritable file looks like to the writer
    String file = sqliteFile;
    return new Outage() {
      Connection lock;

      @Override
      public void begin() throws SQLException {
        lock = DriverManager.getConnection("jdbc:sqlite:" + file);
        try (Statement st = lock.createStatement()) {
          st.execute("BEGIN EXCLUSIVE");
        }
      }

      @Override
      public void end() throws SQLException {
        try (Statement st = lock.createStatement()) {
          st.execute("ROLLBACK");
        }
        lock.close();
      }
    };
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void whenTheStoreIsDownRecordsAreDroppedWithoutBlockingAndTheLogRecovers(Kind kind) throws Exception {
    int buffer = 100;
    int batch = 10;
    StoreConfig c = config(kind, batch, buffer, Duration.ofDays(7));
    Database db = db(c);
    RequestLog log = log(db, c, new AtomicLong(BASE));
    AtomicLong offered = new AtomicLong();
    AtomicLong seq = new AtomicLong();
    Runnable offer = () -> {
      long i = seq.incrementAndGet();
      log.record(rec((int) i, BASE + i, "m", "p", null, Outcome.SUCCESS));
      offered.incrementAndGet();
    };
    for (int i = 0; i < 20; i++) {
      offer.run();
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> log.written() == 20 && log.pending() == 0);
    assertThat(log.degraded()).isFalse();
    assertThat(log.flush(10_000)).isTrue();

    Outage outage = outage(kind);
    outage.begin();
    try {
      offer.run(); // the writer takes this one and fails on it
      await().atMost(Duration.ofSeconds(60)).until(log::degraded);
      assertThat(log.lastError()).isNotBlank();

      // the writer is stuck or backing off: 5,000 more offers return at once, the buffer never grows
      // past its bound, and everything beyond it (and the batch in hand) is counted as dropped
      long droppedBefore = log.dropped();
      assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
        for (int i = 0; i < 5000; i++) {
          offer.run();
          if (i % 100 == 0) {
            assertThat(log.pending()).isLessThanOrEqualTo(buffer);
          }
        }
      }, "record() blocked while the store was down");
      assertThat(log.pending()).isLessThanOrEqualTo(buffer);
      assertThat(log.dropped() - droppedBefore).isGreaterThanOrEqualTo(5000 - buffer - batch);
      assertThat(log.written()).isEqualTo(20);
      assertThat(log.degraded()).isTrue();
    } finally {
      outage.end();
    }

    // back: new records are written again and the log is no longer degraded
    long writtenBefore = log.written();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
      offer.run();
      return log.written() > writtenBefore && !log.degraded();
    });
    for (int i = 0; i < 50; i++) {
      offer.run();
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> log.written() + log.dropped() == offered.get());
    assertThat(log.degraded()).isFalse();
    // nothing was lost silently: every record offered was either written or counted as dropped
    assertThat(rowCount(db)).isEqualTo(log.written());
    assertThat(log.written()).isGreaterThanOrEqualTo(20 + 50);
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void closingDrainsWhatIsBuffered(Kind kind) throws Exception {
    StoreConfig c = config(kind, 50, 10_000, Duration.ofDays(7));
    Database db = db(c);
    RequestLog log = new RequestLog(db, c, () -> BASE);
    for (int i = 0; i < 2000; i++) {
      log.record(rec(i, BASE + i, "m", "p", null, Outcome.SUCCESS));
    }
    log.close();
    assertThat(log.written() + log.dropped()).isEqualTo(2000);
    assertThat(log.dropped()).isZero();
    assertThat(rowCount(db)).isEqualTo(2000);
    // a record that comes after close is counted, not silently lost
    log.record(rec(2000, BASE, "m", "p", null, Outcome.SUCCESS));
    assertThat(log.dropped()).isEqualTo(1);
    assertThat(log.flush(1000)).as("nothing accepted is left to wait for").isTrue();
  }

  /**
   * flush() waits for every record taken into the buffer to be written, including one the writer has
   * already taken out of the queue but not yet committed (while it lingers for its chunk to fill).
   */
  @ParameterizedTest
  @EnumSource(Kind.class)
  void flushWaitsForRecordsTheWriterHoldsButHasNotWritten(Kind kind) throws Exception {
    StoreConfig c = config(kind, 100, 10_000, Duration.ofDays(7));
    Database db = db(c);
    RequestLog log = log(db, c, new AtomicLong(BASE));
    for (int round = 0; round < 20; round++) {
      log.record(rec(round, BASE + round, "m", "p", null, Outcome.SUCCESS));
      Thread.sleep(1); // let the writer take it and start lingering: the queue is empty now
      assertThat(log.flush(10_000)).isTrue();
      assertThat(log.written()).as("after flush, round %d", round).isEqualTo(round + 1);
      assertThat(rowCount(db)).isEqualTo(round + 1);
    }
  }

  @Test
  void anSqliteFileIsCreatedWhereConfigured() throws Exception {
    Path nested = tmp.resolve("a/b/c/log.db");
    StoreConfig c = new StoreConfig("sqlite:" + nested, null, Secret.empty(), Duration.ofDays(7), 10, 100);
    Database db = db(c);
    assertThat(Files.exists(nested)).isTrue();
    assertThat(db.description()).isEqualTo("sqlite:" + nested.toAbsolutePath());
    assertThat(db.postgres()).isFalse();
  }
}
