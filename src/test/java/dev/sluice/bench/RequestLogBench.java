package dev.sluice.bench;

import dev.sluice.config.Secret;
import dev.sluice.config.StoreConfig;
import dev.sluice.store.Database;
import dev.sluice.store.RequestLog;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Request-log benchmarks, run by {@code bench/requestlog.sh} (a main, not a test):
 *
 * <pre>
 * throughput DIR RATE SECONDS [BATCH BUFFER]   offer RATE records/s for SECONDS into DIR/sluice.db
 *                                              through the real RequestLog; print written/s, dropped,
 *                                              and the buffer's size over time
 * seed DIR ROWS                                create DIR/sluice.db (Flyway) and batch-insert ROWS
 *                                              rows directly, for the export benchmark
 * </pre>
 */
public final class RequestLogBench {
  private RequestLogBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length >= 4 && args[0].equals("throughput")) {
      throughput(Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]),
          args.length > 4 ? Integer.parseInt(args[4]) : StoreConfig.DEFAULTS.batchSize(),
          args.length > 5 ? Integer.parseInt(args[5]) : StoreConfig.DEFAULTS.buffer());
    } else if (args.length == 3 && args[0].equals("seed")) {
      seed(Path.of(args[1]), Integer.parseInt(args[2]));
    } else {
      System.err.println("usage: RequestLogBench throughput DIR RATE SECONDS [BATCH BUFFER] | seed DIR ROWS");
      System.exit(2);
    }
  }

  private static final String[] MODELS = {"gpt-4o-mini", "llama-3.1-70b", "glm-4", "demo"};
  private static final String[] PROVIDERS = {"openai", "groq", "zhipu", "sim"};

  /** A record shaped like the gateway's: every column filled, a third of them errors with a message. */
  static RequestRecord record(long i, long nowMillis) {
    int m = (int) (i % MODELS.length);
    boolean ok = i % 3 != 0;
    boolean stream = i % 2 == 0;
    return RequestRecord.builder()
        .id(String.format(Locale.ROOT, "req_%016x", i * 0x9E3779B97F4A7C15L)).start(nowMillis)
        .key("key_" + (i % 50)).endpoint("chat").model(MODELS[m]).provider(PROVIDERS[m])
        .deployment(PROVIDERS[m] + "-" + (i % 3)).status(ok ? 200 : 503)
        .outcome(ok ? Outcome.SUCCESS : Outcome.UPSTREAM_ERROR)
        .error(ok ? null : "upstream_status_503", ok ? null : "deployment " + PROVIDERS[m] + " answered 503: "
            + "{\"error\":{\"message\":\"The server is overloaded, please retry\",\"type\":\"server_error\"}}")
        .latencyMs(180 + (i % 900)).firstTokenMs(stream ? 90 + (i % 300) : -1).attempts(ok ? 1 : 2)
        .route(PROVIDERS[m] + "-0:" + (ok ? "200" : "503") + (ok ? "" : ", " + PROVIDERS[m] + "-1:503"))
        .hedged(false).stream(stream).tokens(40 + (int) (i % 200), 100 + (int) (i % 700))
        .deadlineMs(30_000).priority("normal").overheadMs(0.12 + (i % 50) / 100.0)
        .build();
  }

  static void throughput(Path dir, int rate, int seconds, int batch, int buffer) throws Exception {
    Files.createDirectories(dir);
    StoreConfig c = new StoreConfig("sqlite:" + dir.resolve("sluice.db"), null, Secret.empty(), Duration.ofDays(7),
        batch, buffer);
    try (Database db = Database.open(c, dir); RequestLog log = new RequestLog(db, c, System::currentTimeMillis)) {
      // warm-up: 3 s at the same rate, not counted, so the JIT and SQLite's cache settle
      offer(log, rate, 3, 0, null);
      while (log.pending() > 0) {
        Thread.sleep(10);
      }
      long written0 = log.written();
      long dropped0 = log.dropped();
      int[] perSecondMaxPending = new int[seconds];
      long[] perSecondWritten = new long[seconds + 1];
      long t0 = System.nanoTime();
      long offered = offer(log, rate, seconds, 1_000_000_000L, new Sampler() {
        long lastSecond = -1;

        @Override
        public void sample(long elapsedNanos) {
          int s = (int) Math.min(seconds - 1, elapsedNanos / 1_000_000_000L);
          perSecondMaxPending[s] = Math.max(perSecondMaxPending[s], log.pending());
          if (s != lastSecond) {
            perSecondWritten[s] = log.written() - written0;
            lastSecond = s;
          }
        }
      });
      long elapsed = System.nanoTime() - t0;
      long written = log.written() - written0;
      perSecondWritten[seconds] = written;
      int pendingAtEnd = log.pending();
      long drainStart = System.nanoTime();
      while (log.pending() > 0) {
        Thread.sleep(1);
      }
      log.flush(60_000);
      long drainMs = (System.nanoTime() - drainStart) / 1_000_000;
      long dropped = log.dropped() - dropped0;
      int maxPending = 0;
      int maxFirstHalf = 0;
      int maxSecondHalf = 0;
      for (int s = 0; s < seconds; s++) {
        maxPending = Math.max(maxPending, perSecondMaxPending[s]);
        if (s < seconds / 2) {
          maxFirstHalf = Math.max(maxFirstHalf, perSecondMaxPending[s]);
        } else {
          maxSecondHalf = Math.max(maxSecondHalf, perSecondMaxPending[s]);
        }
      }
      StringBuilder pend = new StringBuilder();
      StringBuilder wps = new StringBuilder();
      for (int s = 0; s < seconds; s++) {
        pend.append(s == 0 ? "" : ",").append(perSecondMaxPending[s]);
        wps.append(s == 0 ? "" : ",").append(perSecondWritten[s + 1] - perSecondWritten[s]);
      }
      double secs = elapsed / 1e9;
      System.out.printf(Locale.ROOT, "rate=%d/s seconds=%d batch=%d buffer=%d offered=%d offered_per_s=%.0f"
              + " written=%d written_per_s=%.0f dropped=%d max_pending=%d max_pending_first_half=%d"
              + " max_pending_second_half=%d pending_at_end=%d drain_ms=%d db_bytes=%d%n",
          rate, seconds, batch, buffer, offered, offered / secs, written, written / secs, dropped, maxPending,
          maxFirstHalf, maxSecondHalf, pendingAtEnd, drainMs, Files.size(dir.resolve("sluice.db"))
              + (Files.exists(dir.resolve("sluice.db-wal")) ? Files.size(dir.resolve("sluice.db-wal")) : 0));
      System.out.println("max_pending_per_second=" + pend);
      System.out.println("written_per_second=" + wps);
    }
  }

  interface Sampler {
    void sample(long elapsedNanos);
  }

  /** Offers records on this thread at a fixed rate (catching up when late); samples every millisecond. */
  private static long offer(RequestLog log, int rate, int seconds, long seedBase, Sampler sampler) {
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    long offered = 0;
    long now;
    while ((now = System.nanoTime()) < end) {
      long due = (long) ((now - start) / 1e9 * rate);
      long wall = System.currentTimeMillis();
      while (offered < due) {
        log.record(record(seedBase + offered, wall));
        offered++;
      }
      if (sampler != null) {
        sampler.sample(now - start);
      }
      LockSupport.parkNanos(1_000_000);
    }
    return offered;
  }

  static void seed(Path dir, int rows) throws Exception {
    Files.createDirectories(dir);
    StoreConfig c = new StoreConfig("sqlite:" + dir.resolve("sluice.db"), null, Secret.empty(), Duration.ofDays(7),
        100, 1000);
    long t0 = System.nanoTime();
    long now = System.currentTimeMillis();
    try (Database db = Database.open(c, dir); Connection conn = db.dataSource().getConnection()) {
      conn.setAutoCommit(false);
      try (PreparedStatement ps = RequestLog.prepareInsert(conn)) {
        List<RequestRecord> chunk = new ArrayList<>(10_000);
        for (int i = 0; i < rows; i++) {
          // spread over the last 24 hours, oldest first, as a day of traffic would be
          chunk.add(record(i, now - 86_400_000L + (long) i * 86_400_000L / rows));
          if (chunk.size() == 10_000 || i == rows - 1) {
            RequestLog.insert(ps, chunk);
            chunk.clear();
          }
          if ((i + 1) % 100_000 == 0 || i == rows - 1) {
            conn.commit();
          }
        }
      }
    }
    System.out.printf(Locale.ROOT, "seeded rows=%d seconds=%.1f db_bytes=%d%n", rows, (System.nanoTime() - t0) / 1e9,
        Files.size(dir.resolve("sluice.db")));
  }
}
