package dev.sluice.store;

import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** Reads the request log: pages with a cursor, and whole selections as a stream of rows. Blocking. */
public final class RequestLogReader {
  private static final String COLUMNS = "id, request_id, ts, key_id, endpoint, model, provider, deployment, status,"
      + " outcome, error_type, error_message, latency_ms, first_token_ms, attempts, route, hedged, stream, cache,"
      + " prompt_tokens, completion_tokens, deadline_ms, priority, overhead_ms";

  private final Database db;
  /**
   * Reads (pages, exports, stats) at once. The pool has 4 connections and an export holds one for as
   * long as its client takes to read it: without a cap, slow exports take them all and the log
   * writer, which waits 5 s for a connection, drops its batches.
   */
  private final java.util.concurrent.Semaphore readers = new java.util.concurrent.Semaphore(2);

  public RequestLogReader(Database db) {
    this.db = db;
  }

  /** A page, newest first, and the cursor of the next page (null at the end). */
  public record Page(List<JsonObject> rows, String nextCursor) {}

  public Page page(LogFilter f) throws SQLException {
    List<JsonObject> rows = new ArrayList<>(f.limit() + 1);
    scan(f, f.limit() + 1, rows::add);
    if (rows.size() <= f.limit()) {
      return new Page(rows, null);
    }
    rows.remove(rows.size() - 1);
    return new Page(rows, LogFilter.encodeCursor(rows.get(rows.size() - 1).getLong("id")));
  }

  /**
   * Streams every selected row, newest first, to {@code sink} without holding them: the driver
   * fetches in chunks (a server-side cursor on PostgreSQL, stepping on SQLite).
   */
  public long export(LogFilter f, Consumer<JsonObject> sink) throws SQLException {
    return scan(f, -1, sink);
  }

  private long scan(LogFilter f, int limit, Consumer<JsonObject> sink) throws SQLException {
    List<Object> params = new ArrayList<>();
    String sql = "SELECT " + COLUMNS + " FROM request_log" + f.where(params) + " ORDER BY id DESC"
        + (limit > 0 ? " LIMIT " + limit : "");
    long n = 0;
    try {
      if (!readers.tryAcquire(5, java.util.concurrent.TimeUnit.SECONDS)) {
        throw new java.sql.SQLTransientException("too many reads of the request log at once; try again later");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.sql.SQLTransientException("interrupted");
    }
    try (Connection c = db.dataSource().getConnection()) {
      boolean auto = c.getAutoCommit();
      if (db.postgres()) {
        c.setAutoCommit(false); // PostgreSQL streams only inside a transaction
      }
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        ps.setFetchSize(500);
        for (int i = 0; i < params.size(); i++) {
          ps.setObject(i + 1, params.get(i));
        }
        try (ResultSet rs = ps.executeQuery()) {
          ResultSetMetaData md = rs.getMetaData();
          int cols = md.getColumnCount();
          while (rs.next()) {
            sink.accept(row(rs, md, cols));
            n++;
          }
        }
      } finally {
        if (db.postgres()) {
          c.rollback();
          c.setAutoCommit(auto);
        }
      }
    } finally {
      readers.release();
    }
    return n;
  }

  private static JsonObject row(ResultSet rs, ResultSetMetaData md, int cols) throws SQLException {
    JsonObject o = new JsonObject();
    for (int i = 1; i <= cols; i++) {
      String name = md.getColumnLabel(i).toLowerCase(java.util.Locale.ROOT);
      Object v = rs.getObject(i);
      if (v == null) {
        o.putNull(name);
        continue;
      }
      switch (name) {
        case "hedged", "stream" -> o.put(name, v instanceof Boolean b ? b : ((Number) v).intValue() != 0);
        case "id", "ts" -> o.put(name, ((Number) v).longValue());
        case "status", "attempts", "prompt_tokens", "completion_tokens" -> o.put(name, ((Number) v).intValue());
        case "latency_ms", "first_token_ms", "deadline_ms", "overhead_ms" -> o.put(name, ((Number) v).doubleValue());
        default -> o.put(name, v.toString());
      }
    }
    return o;
  }
}
