import dev.sluice.config.StoreConfig;
import dev.sluice.store.Database;
import dev.sluice.store.RequestLog;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the request log's writer thread costs per row, as the gateway runs it: the real
 * {@link RequestLog} over the real {@link Database} (SQLite, the default store settings), fed one
 * record at a time at a fixed rate from another thread. It prints the writer thread's CPU time per
 * row over the second half of the run and the transactions it committed, so it shows how the cost
 * per row depends on how many rows each commit carries. Run from the project root after a build:
 *
 * <pre>taskset -c 1 java -cp target/sluice.jar bench/probes/WriterCost.java 5000 20    # rate, seconds</pre>
 *
 * <p>{@code RowCostBench} measures the insert alone (one connection, one statement, 100 rows a
 * commit); this one adds what the writer does around it (the pool's connection, the statement
 * prepared per transaction, the linger, the commit).
 */
public class WriterCost {
  public static void main(String[] args) throws Exception {
    int rate = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    Path dir = Files.createTempDirectory("writercost-");
    Database db = Database.open(StoreConfig.DEFAULTS, dir);
    RequestLog log = new RequestLog(db, StoreConfig.DEFAULTS, System::currentTimeMillis);
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long writer = Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().equals("sluice-request-log")).findFirst().orElseThrow().getId();
    long ts = System.currentTimeMillis();
    long periodNanos = 1_000_000_000L / rate;
    long total = (long) rate * seconds;
    long start = System.nanoTime();
    long cpu0 = 0;
    long written0 = 0;
    long tx0 = 0;
    for (long i = 0; i < total; i++) {
      if (i == total / 2) {
        cpu0 = threads.getThreadCpuTime(writer);
        written0 = log.written();
        tx0 = log.transactions();
      }
      long due = start + i * periodNanos;
      while (System.nanoTime() < due) {
        Thread.onSpinWait();
      }
      boolean ok = i % 20 != 0;
      log.record(RequestRecord.builder().id("req_" + Long.toHexString(ts) + i).start(ts++)
          .endpoint("/v1/chat/completions").model("instant").provider("up").deployment("up/instant")
          .status(ok ? 200 : 504).outcome(ok ? Outcome.SUCCESS : Outcome.TIMEOUT)
          .error(ok ? null : "first_byte_timeout", ok ? null : "no first byte within 30s")
          .latencyMs(1.234).firstTokenMs(-1).attempts(1).route("up/instant:200").hedged(false).stream(false)
          .tokens(12, 40).key(null).priority("normal").deadlineMs(170_000).overheadMs(0.12).build());
    }
    Thread.sleep(500);
    long rows = log.written() - written0;
    long tx = log.transactions() - tx0;
    System.out.printf("%d records/s: writer %.2f µs per row over %d rows, %d transactions (%.0f rows each),"
        + " %d dropped%n", rate, (threads.getThreadCpuTime(writer) - cpu0) / 1000.0 / rows, rows, tx,
        (double) rows / tx, log.dropped());
    System.exit(0);
  }
}
