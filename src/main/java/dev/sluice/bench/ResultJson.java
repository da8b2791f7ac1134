package dev.sluice.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.HdrHistogram.Histogram;

/**
 * Turns a finished run into the JSON document that {@code --json}, baselines, the comparison and
 * {@code bench/summarize.py} all read. Times are in milliseconds; percentiles come from
 * microsecond histograms.
 */
public final class ResultJson {
  public static final int FORMAT = 1;
  private static final ObjectMapper JSON = new ObjectMapper();

  private ResultJson() {}

  public static ObjectNode of(BenchRun.Result r) {
    BenchSpec s = r.spec();
    Recorder f = r.figures();
    ObjectNode root = JSON.createObjectNode();
    root.put("sluice_bench", FORMAT);
    root.put("label", s.label());
    root.put("target", s.requestUri().toString());
    root.put("model", s.model());
    root.put("stream", s.stream());
    root.put("sim_timestamps", s.simTimestamps());
    root.put("rate", s.rate());
    root.put("duration_s", s.durationNanos() / 1e9);
    root.put("warmup_s", s.warmupNanos() / 1e9);
    root.put("self_warm", s.selfWarm());
    root.put("connections", s.connections());
    root.put("event_loops", s.lanes());
    root.put("max_tokens", s.maxTokens());
    root.put("started_at", r.startedAt().toString());

    long scheduled = r.schedule().measured();
    ObjectNode counts = root.putObject("counts");
    counts.put("scheduled", scheduled);
    counts.put("sent", f.sentCount());
    counts.put("completed", f.completedCount());
    counts.put("ok", f.okCount());
    counts.put("failed", f.failed());
    counts.put("late_starts", f.lateCount());
    counts.put("max_in_flight", f.maxInFlight());
    if (f.negativeDelays() > 0) {
      counts.put("negative_chunk_delays", f.negativeDelays());
    }
    ObjectNode errors = root.putObject("errors");
    f.errors().forEach(errors::put);

    root.put("success_rate", scheduled == 0 ? 0 : round((double) f.okCount() / scheduled, 6));
    double elapsed = s.durationNanos() / 1e9;
    if (f.lastCompletionNanos() != Long.MIN_VALUE) {
      elapsed = Math.max(elapsed, (f.lastCompletionNanos() - r.measureStartNanos()) / 1e9);
    }
    root.put("throughput_rps", round(f.okCount() / elapsed, 3));
    root.put("elapsed_s", round(elapsed, 3));
    root.set("latency_ms", percentiles(f.latency()));
    root.set("failed_latency_ms", percentiles(f.failedLatency()));
    if (s.stream()) {
      root.set("ttft_ms", percentiles(f.firstTextHistogram()));
    }
    if (f.chunkDelayHistogram().getTotalCount() > 0) {
      root.set("chunk_delay_ms", percentiles(f.chunkDelayHistogram()));
    }
    root.set("lateness_ms", percentiles(f.lateness()));
    root.set("connection_wait_ms", percentiles(f.connectionWait()));
    return root;
  }

  static ObjectNode percentiles(Histogram h) {
    ObjectNode n = JSON.createObjectNode();
    n.put("count", h.getTotalCount());
    boolean empty = h.getTotalCount() == 0;
    n.put("mean", empty ? 0 : round(h.getMean() / 1000.0, 3));
    n.put("p50", ms(h, 50));
    n.put("p90", ms(h, 90));
    n.put("p99", ms(h, 99));
    n.put("p99_9", ms(h, 99.9));
    n.put("max", empty ? 0 : round(h.getMaxValue() / 1000.0, 3));
    return n;
  }

  private static double ms(Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? 0 : round(h.getValueAtPercentile(percentile) / 1000.0, 3);
  }

  static double round(double v, int digits) {
    double scale = Math.pow(10, digits);
    return Math.round(v * scale) / scale;
  }
}
