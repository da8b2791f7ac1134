package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/** Renders a run's JSON as a table a person reads on stdout. */
public final class ResultTable {
  private static final String[] COLUMNS = {"p50", "p90", "p99", "p99_9", "max", "mean"};

  private ResultTable() {}

  public static String render(JsonNode r) {
    StringBuilder sb = new StringBuilder();
    String label = r.path("label").asText("");
    sb.append(String.format(Locale.ROOT, "sluice bench%s: %s  model=%s  %s  rate=%s/s  duration=%ss  warmup=%ss  self-warm=%d%n",
        label.isEmpty() ? "" : " [" + label + "]", r.path("target").asText(), r.path("model").asText(),
        r.path("stream").asBoolean() ? "stream" : "non-stream", num(r.path("rate").asDouble()),
        num(r.path("duration_s").asDouble()), num(r.path("warmup_s").asDouble()), r.path("self_warm").asInt()));
    JsonNode c = r.path("counts");
    sb.append(String.format(Locale.ROOT,
        "requests: scheduled %d  sent %d  completed %d  ok %d  failed %d  | max in flight %d%n",
        c.path("scheduled").asLong(), c.path("sent").asLong(), c.path("completed").asLong(), c.path("ok").asLong(),
        c.path("failed").asLong(), c.path("max_in_flight").asLong()));
    sb.append(String.format(Locale.ROOT, "success rate: %.3f%%   throughput: %s req/s (ok over %ss)%n",
        r.path("success_rate").asDouble() * 100, num(r.path("throughput_rps").asDouble()),
        num(r.path("elapsed_s").asDouble())));
    JsonNode errors = r.path("errors");
    if (errors.size() > 0) {
      sb.append("errors:");
      Iterator<Map.Entry<String, JsonNode>> it = errors.fields();
      while (it.hasNext()) {
        var e = it.next();
        sb.append(' ').append(e.getKey()).append('=').append(e.getValue().asLong());
      }
      sb.append('\n');
    }
    sb.append(String.format(Locale.ROOT, "%-26s %9s", "milliseconds", "count"));
    for (String col : COLUMNS) {
      sb.append(String.format(Locale.ROOT, " %9s", col.replace('_', '.')));
    }
    sb.append('\n');
    row(sb, "latency (from intended)", r.path("latency_ms"));
    row(sb, "time to first token", r.path("ttft_ms"));
    row(sb, "per-chunk delay", r.path("chunk_delay_ms"));
    row(sb, "generator lateness", r.path("lateness_ms"));
    row(sb, "wait for a connection", r.path("connection_wait_ms"));
    sb.append(String.format(Locale.ROOT, "late starts (generator > %d ms behind its timetable): %d%n",
        Recorder.LATE_NANOS / 1_000_000, c.path("late_starts").asLong()));
    return sb.toString();
  }

  private static void row(StringBuilder sb, String name, JsonNode p) {
    if (p.isMissingNode()) {
      return;
    }
    sb.append(String.format(Locale.ROOT, "%-26s %9d", name, p.path("count").asLong()));
    for (String col : COLUMNS) {
      sb.append(String.format(Locale.ROOT, " %9.3f", p.path(col).asDouble()));
    }
    sb.append('\n');
  }

  private static String num(double v) {
    return v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.3f", v);
  }
}
