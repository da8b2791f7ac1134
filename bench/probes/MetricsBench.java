import dev.sluice.telemetry.Metrics;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;

/**
 * What recording one request's metrics costs on a warm core, without the rest of the gateway:
 * {@code Metrics.record} plus one {@code attemptEnded}, as a non-streaming success records them.
 * Run from the project root after a build (single-file source launch, no compile step):
 *
 * <pre>taskset -c 1 java -cp target/sluice.jar bench/probes/MetricsBench.java</pre>
 */
public class MetricsBench {
  public static void main(String[] args) {
    Metrics m = new Metrics();
    RequestRecord r = RequestRecord.builder().id("req_1").start(System.currentTimeMillis())
        .endpoint("/v1/chat/completions").model("instant").provider("up").deployment("up/instant")
        .status(200).outcome(Outcome.SUCCESS).error(null, null).latencyMs(1.3).firstTokenMs(-1)
        .attempts(1).route("up/instant").hedged(false).stream(false).tokens(12, 40).key(null)
        .priority("normal").deadlineMs(170_000).overheadMs(0.12).build();
    int n = 2_000_000;
    for (int round = 1; round <= 8; round++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        m.record(r);
        m.attemptEnded("instant", "up/instant", "up", "200", 1_000_000);
      }
      double ns = (System.nanoTime() - t0) / (double) n;
      System.out.printf("round %d: %.0f ns per request%s%n", round, ns, round <= 3 ? " (warm-up)" : "");
    }
    m.close();
  }
}
