package dev.sluice.store;

import dev.sluice.config.StoreConfig;
import dev.sluice.telemetry.Recorder;
import dev.sluice.telemetry.RequestRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one row per request, in batches, from its own thread. The request path only offers a
 * record to a bounded queue: when the store is slow or down and the queue is full, records are
 * dropped and counted rather than blocking a request or growing memory. Old rows are pruned in the
 * background after the retention period.
 */
public final class RequestLog implements Recorder, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RequestLog.class);
  private static final String INSERT = "INSERT INTO request_log (request_id, ts, key_id, endpoint, model, provider,"
      + " deployment, status, outcome, error_type, error_message, latency_ms, first_token_ms, attempts, route, hedged,"
      + " stream, cache, prompt_tokens, completion_tokens, deadline_ms, priority, overhead_ms)"
      + " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  private static final long PRUNE_EVERY_MS = 60_000;
  private static final int PRUNE_CHUNK = 10_000;
  /** How long the writer sleeps, once, to let a chunk that is not full yet fill before writing it. */
  static final long LINGER_MS = 100;
  /** Chunks one transaction may take while a backlog waits. */
  static final int MAX_CHUNKS_PER_COMMIT = 10;

  private final Database db;
  private final StoreConfig config;
  private final LongSupplier wallMillis;
  private final ArrayBlockingQueue<RequestRecord> queue;
  private final AtomicLong written = new AtomicLong();
  /** Records taken into the queue; of those, each is written or lost to a failed write. */
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong lost = new AtomicLong();
  /** Records never taken in: the queue was full, or the log closed. */
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong pruned = new AtomicLong();
  private final AtomicLong transactions = new AtomicLong();
  private final Thread writer;
  private volatile boolean running = true;
  private volatile boolean degraded;
  /** The last write failed for want of a connection (the store down or unreachable), not for its data or space. */
  private boolean unreachable;
  private long nextProbeNanos;
  private volatile String lastError;
  private long lastPruneMs;
  /** The last prune chunk was full: more old rows wait for the writer's next turn. */
  private boolean pruneUnderWay;
  /** Tests: told, on the writer thread, how many rows each background prune chunk deleted. */
  volatile IntConsumer afterPruneChunk;
  private int txRows; // the writer thread's current transaction

  public RequestLog(Database db, StoreConfig config, LongSupplier wallMillis) {
    this.db = db;
    this.config = config;
    this.wallMillis = wallMillis;
    this.queue = new ArrayBlockingQueue<>(config.buffer());
    this.writer = new Thread(this::run, "sluice-request-log");
    this.writer.setDaemon(true);
    this.writer.start();
  }

  @Override
  public void record(RequestRecord r) {
    if (running && queue.offer(r)) {
      accepted.incrementAndGet();
    } else {
      refused.incrementAndGet(); // full, or closed: counted, never blocking
    }
  }

  public long written() {
    return written.get();
  }

  public long dropped() {
    return refused.get() + lost.get();
  }

  public long pruned() {
    return pruned.get();
  }

  /** Write transactions committed so far. */
  public long transactions() {
    return transactions.get();
  }

  public int pending() {
    return queue.size();
  }

  public int capacity() {
    return config.buffer();
  }

  /**
   * The last write failed (the store is down, full or locked); cleared by the next good write or,
   * when the store could not be reached and nothing waits to be written, as soon as it can be.
   */
  public boolean degraded() {
    return degraded;
  }

  public String lastError() {
    return lastError;
  }

  private void run() {
    List<RequestRecord> batch = new ArrayList<>(config.batchSize());
    long backoffMs = 100;
    while (running || !queue.isEmpty()) {
      try {
        RequestRecord first = queue.poll(200, TimeUnit.MILLISECONDS);
        if (first != null) {
          batch.add(first);
          fill(batch);
          try {
            write(batch);
            written.addAndGet(txRows);
            degraded = false;
            backoffMs = 100;
          } catch (SQLException | RuntimeException e) {
            lost.addAndGet(txRows);
            if (!degraded) {
              LOG.warn("request log: write failed, records are being dropped: {}", e.getMessage());
            }
            degraded = true;
            unreachable = connectionFailure(e);
            lastError = e.getMessage();
            if (running) {
              Thread.sleep(backoffMs);
              backoffMs = Math.min(5_000, backoffMs * 2);
            }
          }
          batch.clear();
          nextProbeNanos = System.nanoTime() + backoffMs * 1_000_000;
        } else if (degraded && unreachable && System.nanoTime() - nextProbeNanos >= 0) {
          probe();
          nextProbeNanos = System.nanoTime() + backoffMs * 1_000_000;
        }
        maybePrune();
      } catch (InterruptedException e) {
        // nothing interrupts the writer today; if something does, what it held is counted, not kept
        lost.addAndGet(batch.size());
        batch.clear();
      }
    }
  }

  /**
   * Tops the batch up to a full chunk, sleeping at most once for {@link #LINGER_MS} while records
   * still come. The writer sleeps rather than waiting on the queue: a writer woken by every record
   * costs the event loop a thread wake-up per request (and, on a shared core, a context switch),
   * which at saturation cost more than the rows themselves. Only an idle writer waits on the queue,
   * so a burst wakes it once.
   */
  private void fill(List<RequestRecord> batch) throws InterruptedException {
    queue.drainTo(batch, config.batchSize() - batch.size());
    if (running && batch.size() < config.batchSize()) {
      Thread.sleep(LINGER_MS);
      queue.drainTo(batch, config.batchSize() - batch.size());
    }
  }

  /**
   * Inserts the batch and commits; while a backlog of at least a chunk is waiting, further chunks
   * join the same transaction (up to {@link #MAX_CHUNKS_PER_COMMIT}), so a busy gateway commits less
   * often instead of falling behind. {@link #txRows} counts the rows taken into the transaction: on
   * failure, all of them are lost.
   */
  private void write(List<RequestRecord> batch) throws SQLException {
    txRows = batch.size();
    try (Connection c = db.dataSource().getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps = prepareInsert(c)) {
        for (int chunk = 1; ; chunk++) {
          insert(ps, batch);
          batch.clear();
          if (chunk >= MAX_CHUNKS_PER_COMMIT || queue.size() < config.batchSize()) {
            break;
          }
          txRows += queue.drainTo(batch, config.batchSize());
        }
        c.commit();
        transactions.incrementAndGet();
      } catch (SQLException | RuntimeException e) {
        try {
          c.rollback();
        } catch (SQLException r) {
          e.addSuppressed(r);
        }
        throw e;
      }
    }
  }

  /** The statement {@link #insert} fills: one row of {@code request_log}. */
  public static PreparedStatement prepareInsert(Connection c) throws SQLException {
    return c.prepareStatement(INSERT);
  }

  /**
   * Adds one row per record to {@code ps} (from {@link #prepareInsert}) and executes them as a batch;
   * the caller commits. The writer's own path, and the one for seeding a log in bulk.
   */
  public static void insert(PreparedStatement ps, List<RequestRecord> batch) throws SQLException {
    for (RequestRecord r : batch) {
      bind(ps, 0, r);
      ps.addBatch();
    }
    ps.executeBatch();
  }

  /** Binds one record's 23 values to parameters {@code base + 1} to {@code base + 23} of {@code ps}. */
  public static void bind(PreparedStatement ps, int base, RequestRecord r) throws SQLException {
    int i = base + 1;
    ps.setString(i++, text(r.id()));
    ps.setLong(i++, r.startEpochMillis());
    ps.setString(i++, text(r.keyId()));
    ps.setString(i++, r.endpoint());
    ps.setString(i++, text(r.model()));
    ps.setString(i++, r.provider());
    ps.setString(i++, r.deployment());
    ps.setInt(i++, r.status());
    ps.setString(i++, r.outcome().label());
    ps.setString(i++, text(r.errorType()));
    ps.setString(i++, r.errorMessage() == null ? null : text(truncate(r.errorMessage(), 1000)));
    ps.setDouble(i++, r.latencyMs());
    setDouble(ps, i++, r.firstTokenMs());
    ps.setInt(i++, r.attempts());
    ps.setString(i++, r.route());
    ps.setBoolean(i++, r.hedged());
    ps.setBoolean(i++, r.stream());
    ps.setString(i++, r.cache());
    setInt(ps, i++, r.promptTokens());
    setInt(ps, i++, r.completionTokens());
    setDouble(ps, i++, r.deadlineMs());
    ps.setString(i++, r.priority());
    setDouble(ps, i, r.overheadMs());
  }

  /**
   * An idle writer whose store was unreachable checks whether it is back, so that a store restored
   * while no request comes is not reported degraded until the next one does. Only an unreachable
   * store is cleared this way: one that refused the rows themselves (full, read-only) may well take
   * a connection and still refuse the next write.
   */
  private void probe() {
    try (Connection c = db.dataSource().getConnection()) {
      if (c.isValid(5)) {
        degraded = false;
        unreachable = false;
        LOG.info("request log: the store answers again");
      }
    } catch (SQLException e) {
      lastError = e.getMessage();
    }
  }

  /** Whether a write failed for want of a working connection (SQLSTATE class 08, or none from the pool). */
  static boolean connectionFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.sql.SQLTransientConnectionException || t instanceof java.sql.SQLNonTransientConnectionException
          || (t instanceof SQLException q && q.getSQLState() != null && q.getSQLState().startsWith("08"))) {
        return true;
      }
    }
    return false;
  }

  /**
   * Prunes one chunk when a pass is due (every minute) or under way: a pass that found more old rows
   * than one chunk goes on at the writer's next turn, after the next batch is written, so a large
   * prune (a long log, or retention just shortened) never holds the writer from its records.
   */
  private void maybePrune() {
    long now = wallMillis.getAsLong();
    if (!pruneUnderWay) {
      if (now - lastPruneMs < PRUNE_EVERY_MS) {
        return;
      }
      lastPruneMs = now; // a new pass
    }
    int n = pruneChunk(now - config.retention().toMillis());
    pruneUnderWay = n == PRUNE_CHUNK;
    IntConsumer hook = afterPruneChunk;
    if (hook != null) {
      hook.accept(n);
    }
  }

  /**
   * Deletes rows older than {@code cutoffMillis} in chunks, so that the database is never locked for
   * long. The newest row always stays, even when it is old: SQLite gives a new row max(id) + 1, so
   * keeping it means ids never go back and a cursor handed out earlier never meets rows newer than
   * itself.
   */
  public long pruneOlderThan(long cutoffMillis) {
    long total = 0;
    int n;
    do {
      n = pruneChunk(cutoffMillis);
      total += n;
    } while (n == PRUNE_CHUNK);
    return total;
  }

  /** Deletes up to one chunk of rows older than {@code cutoffMillis}; returns how many. */
  private int pruneChunk(long cutoffMillis) {
    String sql = "DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE ts < ?"
        + " AND id < (SELECT max(id) FROM request_log) LIMIT " + PRUNE_CHUNK + ")";
    try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setLong(1, cutoffMillis);
      int n = ps.executeUpdate();
      pruned.addAndGet(n);
      return n;
    } catch (SQLException e) {
      LOG.warn("request log: pruning failed: {}", e.getMessage());
      return 0;
    }
  }

  /** Waits until everything offered so far has been written or dropped (for tests and shutdown). */
  public boolean flush(long timeoutMillis) {
    long end = System.nanoTime() + timeoutMillis * 1_000_000;
    long target = accepted.get();
    while (written.get() + lost.get() < target) {
      if (System.nanoTime() > end) {
        return false;
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  @Override
  public void close() {
    running = false;
    try {
      writer.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void setDouble(PreparedStatement ps, int i, double v) throws SQLException {
    if (v < 0) {
      ps.setNull(i, Types.DOUBLE);
    } else {
      ps.setDouble(i, v);
    }
  }

  private static void setInt(PreparedStatement ps, int i, int v) throws SQLException {
    if (v < 0) {
      ps.setNull(i, Types.INTEGER);
    } else {
      ps.setInt(i, v);
    }
  }

  /**
   * A value that may carry outside input (the request id, key id and model a client sent, an error
   * message quoting a provider) with U+0000 replaced by U+FFFD: PostgreSQL's text cannot hold it,
   * and one such value would fail its whole transaction (every row in it lost). The other columns
   * come from the configuration and the gateway itself.
   */
  private static String text(String s) {
    return s == null || s.indexOf('\u0000') < 0 ? s : s.replace('\u0000', '\uFFFD');
  }

  private static String truncate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max);
  }
}
