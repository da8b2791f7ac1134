import dev.sluice.store.RequestLog;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What one request-log row costs the writer in SQLite, by table shape: the columns of the log, with
 * or without {@code AUTOINCREMENT} and each index, rows inserted the way the writer does it
 * ({@link RequestLog#insert}, 100 a batch, commit per batch, WAL, {@code synchronous=NORMAL}). It
 * prints the inserting thread's CPU time per row over the second half of the rows (the first half
 * warms up), and the wall time, which also holds the file system's share. Run from the project root
 * after a build, on a core of its own; repeat and interleave, the figures move by 10–17% run to run:
 *
 * <pre>for s in first both auto-ts ts none literal pack json text multi codes; do taskset -c 1 java -cp target/sluice.jar bench/probes/RowCostBench.java $s; done</pre>
 *
 * Shapes: {@code first} (the first schema: AUTOINCREMENT, indexes on ts and (model, ts)),
 * {@code auto-ts} (AUTOINCREMENT, ts index), {@code both} (no AUTOINCREMENT, both indexes),
 * {@code ts} (migration 2: no AUTOINCREMENT, ts index), {@code none} (no index), {@code literal} (no
 * index, and the same values written into the statement instead of bound: what binding costs).
 * Two ways to bind less, each with the ts index: {@code pack} (12 columns bound, the 11 rarely
 * filtered fields packed into one JSON text built here) and {@code json} (one parameter per batch,
 * the batch as a JSON array of rows that SQLite takes apart with {@code json_each}). And
 * {@code text} (ts index): no parameter at all, the batch as one {@code INSERT ... VALUES (...),
 * (...)} with every value written as an SQL literal, which SQLite parses and compiles per batch.
 * {@code multi} (ts index): the writer's bound values, ten rows per statement (prepared once), so
 * that SQLite steps and resets once per ten rows. {@code codes} (ts index): the nine columns with few
 * distinct values (endpoint, model, provider, deployment, outcome, error type, route, cache,
 * priority) bound as small integers, as a dictionary table would store them.
 */
public class RowCostBench {
  private static final String COLUMNS = "request_id TEXT NOT NULL, ts BIGINT NOT NULL, key_id TEXT, endpoint TEXT,"
      + " model TEXT, provider TEXT, deployment TEXT, status INTEGER NOT NULL, outcome TEXT NOT NULL, error_type TEXT,"
      + " error_message TEXT, latency_ms DOUBLE PRECISION NOT NULL, first_token_ms DOUBLE PRECISION,"
      + " attempts INTEGER NOT NULL, route TEXT, hedged INTEGER NOT NULL DEFAULT 0, stream INTEGER NOT NULL DEFAULT 0,"
      + " cache TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, deadline_ms DOUBLE PRECISION, priority TEXT,"
      + " overhead_ms DOUBLE PRECISION";

  private static final String LITERAL_INSERT = "INSERT INTO request_log (request_id, ts, key_id, endpoint, model,"
      + " provider, deployment, status, outcome, error_type, error_message, latency_ms, first_token_ms, attempts, route,"
      + " hedged, stream, cache, prompt_tokens, completion_tokens, deadline_ms, priority, overhead_ms) VALUES"
      + " ('req_19a2b3c4d5e6', 1795000000000, NULL, '/v1/chat/completions', 'instant', 'up', 'up/instant', 200,"
      + " 'success', NULL, NULL, 1.234, NULL, 1, 'up/instant:200', 0, 0, NULL, 12, 40, 170000.0, 'normal', 0.12)";

  private static final String PACKED_COLUMNS = "request_id TEXT NOT NULL, ts BIGINT NOT NULL, key_id TEXT, model TEXT,"
      + " provider TEXT, deployment TEXT, status INTEGER NOT NULL, outcome TEXT NOT NULL, error_type TEXT,"
      + " latency_ms DOUBLE PRECISION NOT NULL, first_token_ms DOUBLE PRECISION, attempts INTEGER NOT NULL, detail TEXT";
  private static final String PACKED_INSERT = "INSERT INTO request_log (request_id, ts, key_id, model, provider,"
      + " deployment, status, outcome, error_type, latency_ms, first_token_ms, attempts, detail)"
      + " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)";
  /** The 23 columns of the log, taken from the i-th element of each row of a JSON array of rows. */
  private static final String JSON_INSERT = "INSERT INTO request_log (request_id, ts, key_id, endpoint, model,"
      + " provider, deployment, status, outcome, error_type, error_message, latency_ms, first_token_ms, attempts, route,"
      + " hedged, stream, cache, prompt_tokens, completion_tokens, deadline_ms, priority, overhead_ms) SELECT "
      + String.join(",", java.util.stream.IntStream.range(0, 23).mapToObj(i -> "value->>" + i).toList())
      + " FROM json_each(?)";

  private static void insertPacked(PreparedStatement ps, List<RequestRecord> batch) throws java.sql.SQLException {
    StringBuilder detail = new StringBuilder(256);
    for (RequestRecord r : batch) {
      ps.setString(1, r.id());
      ps.setLong(2, r.startEpochMillis());
      ps.setString(3, r.keyId());
      ps.setString(4, r.model());
      ps.setString(5, r.provider());
      ps.setString(6, r.deployment());
      ps.setInt(7, r.status());
      ps.setString(8, r.outcome().label());
      ps.setString(9, r.errorType());
      ps.setDouble(10, r.latencyMs());
      if (r.firstTokenMs() < 0) {
        ps.setNull(11, java.sql.Types.DOUBLE);
      } else {
        ps.setDouble(11, r.firstTokenMs());
      }
      ps.setInt(12, r.attempts());
      detail.setLength(0);
      detail.append("{\"endpoint\":");
      text(detail, r.endpoint());
      detail.append(",\"error_message\":");
      text(detail, r.errorMessage());
      detail.append(",\"route\":");
      text(detail, r.route());
      detail.append(",\"hedged\":").append(r.hedged()).append(",\"stream\":").append(r.stream()).append(",\"cache\":");
      text(detail, r.cache());
      detail.append(",\"prompt_tokens\":").append(r.promptTokens()).append(",\"completion_tokens\":")
          .append(r.completionTokens()).append(",\"deadline_ms\":").append(r.deadlineMs()).append(",\"priority\":");
      text(detail, r.priority());
      detail.append(",\"overhead_ms\":").append(r.overheadMs()).append('}');
      ps.setString(13, detail.toString());
      ps.addBatch();
    }
    ps.executeBatch();
  }

  private static String jsonRows(List<RequestRecord> batch) {
    StringBuilder b = new StringBuilder(batch.size() * 256).append('[');
    for (RequestRecord r : batch) {
      b.append(b.length() > 1 ? ",[" : "[");
      text(b, r.id());
      b.append(',').append(r.startEpochMillis()).append(',');
      for (String v : new String[] {r.keyId(), r.endpoint(), r.model(), r.provider(), r.deployment()}) {
        text(b, v);
        b.append(',');
      }
      b.append(r.status()).append(',');
      text(b, r.outcome().label());
      b.append(',');
      text(b, r.errorType());
      b.append(',');
      text(b, r.errorMessage());
      b.append(',').append(r.latencyMs()).append(',').append(r.firstTokenMs() < 0 ? "null" : r.firstTokenMs())
          .append(',').append(r.attempts()).append(',');
      text(b, r.route());
      b.append(',').append(r.hedged() ? 1 : 0).append(',').append(r.stream() ? 1 : 0).append(',');
      text(b, r.cache());
      b.append(',').append(r.promptTokens()).append(',').append(r.completionTokens()).append(',')
          .append(r.deadlineMs()).append(',');
      text(b, r.priority());
      b.append(',').append(r.overheadMs()).append(']');
    }
    return b.append(']').toString();
  }

  /** A JSON string (or null); the probe's values need no escapes beyond quotes and backslashes. */
  private static void text(StringBuilder b, String s) {
    if (s == null) {
      b.append("null");
      return;
    }
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch == '"' || ch == '\\') {
        b.append('\\');
      }
      b.append(ch);
    }
    b.append('"');
  }

  /** The {@code text} shape: the whole batch as one INSERT with the values written as SQL literals. */
  private static final String TEXT_COLUMNS = "request_log (request_id, ts, key_id, endpoint, model, provider,"
      + " deployment, status, outcome, error_type, error_message, latency_ms, first_token_ms, attempts, route, hedged,"
      + " stream, cache, prompt_tokens, completion_tokens, deadline_ms, priority, overhead_ms)";

  /** The statement that inserts every record of {@code batch} (which must not be empty). */
  private static String insertText(List<RequestRecord> batch) {
    if (batch.isEmpty()) {
      throw new IllegalArgumentException("no rows to insert");
    }
    StringBuilder b = new StringBuilder(64 + batch.size() * 320);
    b.append("INSERT INTO ").append(TEXT_COLUMNS).append(" VALUES ");
    for (int i = 0; i < batch.size(); i++) {
      if (i > 0) {
        b.append(',');
      }
      row(b, batch.get(i));
    }
    return b.toString();
  }

  private static void row(StringBuilder b, RequestRecord r) {
    b.append('(');
    sqlText(b, r.id()).append(',').append(r.startEpochMillis()).append(',');
    sqlText(b, r.keyId()).append(',');
    sqlText(b, r.endpoint()).append(',');
    sqlText(b, r.model()).append(',');
    sqlText(b, r.provider()).append(',');
    sqlText(b, r.deployment()).append(',').append(r.status()).append(',');
    sqlText(b, r.outcome().label()).append(',');
    sqlText(b, r.errorType()).append(',');
    sqlText(b, r.errorMessage()).append(',');
    real(b, r.latencyMs(), true).append(',');
    real(b, r.firstTokenMs(), false).append(',').append(r.attempts()).append(',');
    sqlText(b, r.route()).append(',').append(r.hedged() ? '1' : '0').append(',').append(r.stream() ? '1' : '0').append(',');
    sqlText(b, r.cache()).append(',');
    count(b, r.promptTokens()).append(',');
    count(b, r.completionTokens()).append(',');
    real(b, r.deadlineMs(), false).append(',');
    sqlText(b, r.priority()).append(',');
    real(b, r.overheadMs(), false).append(')');
  }

  private static StringBuilder sqlText(StringBuilder b, String s) {
    if (s == null) {
      return b.append("NULL");
    }
    b.append('\'');
    int from = 0;
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch == '\'' || ch == '\0') {
        b.append(s, from, i).append(ch == '\'' ? "''" : "\uFFFD");
        from = i + 1;
      }
    }
    return b.append(s, from, s.length()).append('\'');
  }

  /**
   * A time in milliseconds. A {@code required} one (latency, a NOT NULL column) is written as it is
   * when finite and as 0 otherwise; an optional one is NULL when negative or not finite.
   */
  private static StringBuilder real(StringBuilder b, double v, boolean required) {
    if (Double.isFinite(v) && (required || v >= 0)) {
      return b.append(v);
    }
    return b.append(required ? "0.0" : "NULL");
  }

  private static StringBuilder count(StringBuilder b, int v) {
    return v < 0 ? b.append("NULL") : b.append(v);
  }

  /** Rows per statement of the {@code multi} shape. */
  private static final int MULTI = 10;

  private static String multiInsert() {
    String row = "(" + String.join(",", java.util.Collections.nCopies(23, "?")) + ")";
    return "INSERT INTO " + TEXT_COLUMNS + " VALUES " + String.join(",", java.util.Collections.nCopies(MULTI, row));
  }

  private static void insertMulti(PreparedStatement ps, List<RequestRecord> batch) throws java.sql.SQLException {
    for (int from = 0; from < batch.size(); from += MULTI) {
      for (int k = 0; k < MULTI; k++) {
        RequestLog.bind(ps, k * 23, batch.get(from + k));
      }
      ps.executeUpdate();
    }
  }

  /** The {@code codes} shape: the same row with its nine low-cardinality texts as integer codes. */
  private static final String CODED_COLUMNS = COLUMNS.replaceAll(
      "(endpoint|model|provider|deployment|outcome|error_type|route|cache|priority) TEXT", "$1 INTEGER");
  private static final java.util.Map<String, Integer> CODES = new java.util.HashMap<>();

  private static void code(PreparedStatement ps, int i, String v) throws java.sql.SQLException {
    if (v == null) {
      ps.setNull(i, java.sql.Types.INTEGER);
    } else {
      ps.setInt(i, CODES.computeIfAbsent(v, k -> CODES.size() + 1));
    }
  }

  private static void insertCoded(PreparedStatement ps, List<RequestRecord> batch) throws java.sql.SQLException {
    for (RequestRecord r : batch) {
      RequestLog.bind(ps, 0, r); // then the nine texts replaced by their codes
      code(ps, 4, r.endpoint());
      code(ps, 5, r.model());
      code(ps, 6, r.provider());
      code(ps, 7, r.deployment());
      code(ps, 9, r.outcome().label());
      code(ps, 10, r.errorType());
      code(ps, 15, r.route());
      code(ps, 18, r.cache());
      code(ps, 22, r.priority());
      ps.addBatch();
    }
    ps.executeBatch();
  }

  public static void main(String[] args) throws Exception {
    String shape = args.length > 0 ? args[0] : "ts";
    List<String> shapes = List.of("first", "both", "auto-ts", "ts", "none", "literal", "pack", "json", "text", "multi",
        "codes");
    if (!shapes.contains(shape)) {
      throw new IllegalArgumentException("unknown shape " + shape + ": one of " + shapes);
    }
    int rows = args.length > 1 ? Integer.parseInt(args[1]) : 300_000;
    boolean auto = shape.equals("first") || shape.equals("auto-ts");
    boolean literal = shape.equals("literal");
    boolean pack = shape.equals("pack");
    boolean json = shape.equals("json");
    boolean text = shape.equals("text");
    boolean multi = shape.equals("multi");
    boolean codes = shape.equals("codes");
    boolean tsIndex = !shape.equals("none") && !literal;
    boolean modelIndex = shape.equals("first") || shape.equals("both");
    Path file = Files.createTempFile("rowcost-", ".db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file + "?journal_mode=WAL&synchronous=NORMAL")) {
      try (Statement st = c.createStatement()) {
        st.execute("CREATE TABLE request_log (id INTEGER PRIMARY KEY" + (auto ? " AUTOINCREMENT" : "") + ", "
            + (pack ? PACKED_COLUMNS : codes ? CODED_COLUMNS : COLUMNS) + ")");
        if (tsIndex) {
          st.execute("CREATE INDEX request_log_ts ON request_log (ts)");
        }
        if (modelIndex) {
          st.execute("CREATE INDEX request_log_model_ts ON request_log (model, ts)");
        }
      }
      c.setAutoCommit(false);
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      long ts = System.currentTimeMillis();
      long wall0 = 0;
      long cpu0 = 0;
      String sql = literal ? LITERAL_INSERT : pack ? PACKED_INSERT : json ? JSON_INSERT : text ? "SELECT 1"
          : multi ? multiInsert() : null;
      try (PreparedStatement ps = sql != null ? c.prepareStatement(sql) : RequestLog.prepareInsert(c)) {
        List<RequestRecord> batch = new ArrayList<>(100);
        for (int i = 0; i < rows; i++) {
          if (i == rows / 2) {
            wall0 = System.nanoTime();
            cpu0 = threads.getCurrentThreadCpuTime();
          }
          boolean ok = i % 20 != 0;
          batch.add(RequestRecord.builder().id("req_" + Long.toHexString(ts) + i).start(ts++)
              .endpoint("/v1/chat/completions").model("instant").provider("up").deployment("up/instant")
              .status(ok ? 200 : 504).outcome(ok ? Outcome.SUCCESS : Outcome.TIMEOUT)
              .error(ok ? null : "first_byte_timeout", ok ? null : "no first byte within 30s")
              .latencyMs(1.234).firstTokenMs(-1).attempts(1).route("up/instant:200").hedged(false).stream(false)
              .tokens(12, 40).key(null).priority("normal").deadlineMs(170_000).overheadMs(0.12).build());
          if (batch.size() == 100) {
            if (literal) {
              for (int k = 0; k < batch.size(); k++) {
                ps.addBatch();
              }
              ps.executeBatch();
            } else if (pack) {
              insertPacked(ps, batch);
            } else if (multi) {
              insertMulti(ps, batch);
            } else if (codes) {
              insertCoded(ps, batch);
            } else if (text) {
              try (Statement st = c.createStatement()) {
                st.executeUpdate(insertText(batch));
              }
            } else if (json) {
              ps.setString(1, jsonRows(batch));
              ps.executeUpdate();
            } else {
              RequestLog.insert(ps, batch);
            }
            c.commit();
            batch.clear();
          }
        }
      }
      int measured = rows - rows / 2;
      System.out.printf("%-6s %.2f µs CPU per row, %.2f µs wall%n", shape,
          (threads.getCurrentThreadCpuTime() - cpu0) / 1e3 / measured, (System.nanoTime() - wall0) / 1e3 / measured);
    } finally {
      for (String suffix : new String[] {"", "-wal", "-shm"}) {
        Files.deleteIfExists(Path.of(file + suffix));
      }
    }
  }
}
