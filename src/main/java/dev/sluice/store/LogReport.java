package dev.sluice.store;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.HdrHistogram.Histogram;

/**
 * A summary of a window of the request log for people: per model and provider, and per
 * deployment, with recommendations drawn from the figures — a guard that fires too often or never,
 * a deployment that is consistently slow or failing, retries that rarely help, a queue that sheds
 * too much.
 */
public final class LogReport {
  /** Figures of one row of the report. */
  public static final class Row {
    public final String name;
    long requests;
    long success;
    long timeouts;
    long errors;
    long truncated;
    long rejected;
    long clientClosed;
    long retried;
    long retriedSuccess;
    long hedged;
    final Map<String, Long> errorTypes = new TreeMap<>();
    /** For a deployment's row: the models it served in the window. */
    final Set<String> models = new TreeSet<>();
    // three significant digits: the table shows 0.1 ms, and two digits moved a 123.4 ms request to 123.9
    final Histogram latency = new Histogram(3_600_000_000L, 3);
    final Histogram firstToken = new Histogram(3_600_000_000L, 3);

    Row(String name) {
      this.name = name;
    }

    long served() {
      return requests - rejected - clientClosed;
    }

    double rate(long n) {
      long s = served();
      return s <= 0 ? 0 : (double) n / s;
    }

    long p(Histogram h, double q) {
      // the middle of the value's bucket, not its top: within half a bucket of the logged figure
      return h.getTotalCount() == 0 ? -1 : h.medianEquivalentValue(h.getValueAtPercentile(q));
    }
  }

  private final Map<String, Row> byModel = new TreeMap<>();
  private final Map<String, Row> byDeployment = new TreeMap<>();
  private final Row total = new Row("all");
  private final long sinceMillis;
  private final long untilMillis;

  private LogReport(long sinceMillis, long untilMillis) {
    this.sinceMillis = sinceMillis;
    this.untilMillis = untilMillis;
  }

  public static LogReport of(RequestLogReader reader, long sinceMillis, long untilMillis) throws SQLException {
    LogReport r = new LogReport(sinceMillis, untilMillis);
    reader.export(new LogFilter(sinceMillis, untilMillis, null, null, null, null, -1, 0), row -> {
      String model = row.getValue("model") == null ? "(refused before routing)"
          : row.getString("model") + " @ " + (row.getValue("provider") == null ? "-" : row.getString("provider"));
      String dep = row.getString("deployment");
      String outcome = row.getString("outcome", "");
      String type = row.getString("error_type");
      int attempts = row.getInteger("attempts", 0);
      boolean hedged = Boolean.TRUE.equals(row.getBoolean("hedged"));
      Double lat = row.getDouble("latency_ms");
      Double ft = row.getDouble("first_token_ms");
      if (dep != null && row.getValue("model") != null) {
        r.byDeployment.computeIfAbsent(dep, Row::new).models.add(row.getString("model"));
      }
      for (Row x : new Row[] {r.total, r.byModel.computeIfAbsent(model, Row::new),
          dep == null ? null : r.byDeployment.computeIfAbsent(dep, Row::new)}) {
        if (x == null) {
          continue;
        }
        x.requests++;
        switch (outcome) {
          case "success" -> x.success++;
          case "timeout" -> x.timeouts++;
          case "truncated" -> x.truncated++;
          case "rejected" -> x.rejected++;
          case "client_closed" -> x.clientClosed++;
          default -> x.errors++;
        }
        if (type != null && !outcome.equals("success")) {
          x.errorTypes.merge(type, 1L, Long::sum);
        }
        // a hedge is the one extra attempt that is not a retry (a request is hedged at most once)
        if (attempts - (hedged ? 1 : 0) > 1) {
          x.retried++;
          if (outcome.equals("success")) {
            x.retriedSuccess++;
          }
        }
        if (hedged) {
          x.hedged++;
        }
        if (lat != null && lat >= 0 && !outcome.equals("rejected")) {
          x.latency.recordValue(Math.min(3_600_000_000L, Math.max(1, Math.round(lat * 1000))));
        }
        if (ft != null && ft >= 0) {
          x.firstToken.recordValue(Math.min(3_600_000_000L, Math.max(1, Math.round(ft * 1000))));
        }
      }
    });
    return r;
  }

  public Row total() {
    return total;
  }

  /** Recommendations, most important first. */
  public List<String> recommendations() {
    List<String> out = new ArrayList<>();
    for (Row d : byDeployment.values()) {
      if (d.served() < 20) {
        continue;
      }
      // every served request that did not succeed failed: errors, but also timeouts that no named guard
      // explains (total_timeout, deadline_exceeded) and streams cut short; a guard that the next rule
      // reports is left out here, so that one cause is not reported twice
      long failed = d.served() - d.success;
      Map<String, Long> causes = new TreeMap<>(d.errorTypes);
      causes.remove("client_closed");
      for (String guard : new String[] {"first_byte_timeout", "first_token_timeout", "idle_timeout", "connect_timeout"}) {
        long n = d.errorTypes.getOrDefault(guard, 0L);
        if (n > 0 && d.rate(n) > 0.05) {
          out.add(String.format(Locale.ROOT, "%s: %s fired on %.1f%% of requests; the provider is slower than the guard"
              + " allows — raise the guard, or add a faster deployment / hedging", d.name, guard, 100 * d.rate(n)));
          failed -= n;
          causes.remove(guard);
        }
      }
      if (d.rate(failed) > 0.10) {
        out.add(String.format(Locale.ROOT, "%s: %.1f%% of requests failed (%s); consider lowering its weight or its"
            + " breaker's failure_rate", d.name, 100 * d.rate(failed), causes));
      }
    }
    // slow next to what else could serve the same requests: the other deployments of its models. Not
    // next to the overall median, which a slow deployment carrying most of the traffic sets itself, and
    // which mixes in other models whose answers are longer or shorter by nature
    for (Row d : byDeployment.values()) {
      long m = d.p(d.latency, 50);
      if (d.served() < 20 || m < 0) {
        continue;
      }
      Histogram peers = new Histogram(3_600_000_000L, 3);
      for (Row o : byDeployment.values()) {
        if (o != d && o.served() >= 20 && !Collections.disjoint(o.models, d.models)) {
          peers.add(o.latency);
        }
      }
      long peerMedian = peers.getTotalCount() == 0 ? -1 : peers.getValueAtPercentile(50);
      if (peerMedian > 0 && m > 2 * peerMedian) {
        out.add(String.format(Locale.ROOT, "%s: consistently slow (median %.0f ms, over twice the %.0f ms of the other"
            + " deployments of %s); p2c routing or a lower weight would send it less traffic", d.name, m / 1000.0,
            peerMedian / 1000.0, String.join(", ", d.models)));
      }
    }
    if (total.retried >= 20 && (double) total.retriedSuccess / total.retried < 0.3) {
      out.add(String.format(Locale.ROOT, "retries rarely help: only %.0f%% of retried requests succeeded; failures are"
          + " probably correlated (same provider) — fall back to another provider instead",
          100.0 * total.retriedSuccess / total.retried));
    }
    long shed = 0;
    for (Map.Entry<String, Long> e : total.errorTypes.entrySet()) {
      if (e.getKey().equals("queue_full") || e.getKey().equals("deadline_unmeetable")) {
        shed += e.getValue();
      }
    }
    if (total.requests >= 20 && (double) shed / total.requests > 0.05) {
      out.add(String.format(Locale.ROOT, "the queue shed %.1f%% of requests; capacity is short of demand — add"
          + " deployments, raise concurrency limits, or give clients longer deadlines",
          100.0 * shed / total.requests));
    }
    long firstByteFired = total.errorTypes.getOrDefault("first_byte_timeout", 0L)
        + total.errorTypes.getOrDefault("first_token_timeout", 0L);
    if (total.served() >= 200 && firstByteFired == 0 && total.p(total.latency, 99) > 0) {
      out.add(String.format(Locale.ROOT, "no first-byte or first-token guard fired in %d requests (p99 latency %.0f ms);"
          + " if the guards are far above that, tightening them (e.g. adaptive_first_byte) fails hung calls sooner",
          total.served(), total.p(total.latency, 99) / 1000.0));
    }
    if (out.isEmpty()) {
      out.add("nothing stands out in this window");
    }
    return out;
  }

  /** The report as text tables. */
  public String render() {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "Sluice report: %s to %s%n%n", java.time.Instant.ofEpochMilli(sinceMillis),
        java.time.Instant.ofEpochMilli(untilMillis)));
    table(sb, "model @ provider", byModel, true);
    sb.append('\n');
    table(sb, "deployment", byDeployment, false);
    sb.append("\nRecommendations:\n");
    for (String rec : recommendations()) {
      sb.append("  - ").append(rec).append('\n');
    }
    return sb.toString();
  }

  private void table(StringBuilder sb, String title, Map<String, Row> rows, boolean withTotal) {
    String fmt = "%-34s %8s %8s %8s %8s %8s %9s %9s %9s %9s %8s%n";
    sb.append(String.format(Locale.ROOT, fmt, title, "requests", "success", "timeout", "errors", "cut", "p50 ms",
        "p95 ms", "p99 ms", "ttft p50", "retried"));
    List<Row> all = new ArrayList<>(rows.values());
    if (withTotal) {
      all.add(total);
    }
    for (Row r : all) {
      sb.append(String.format(Locale.ROOT, fmt, truncate(r.name, 34), r.requests, pct(r.rate(r.success)),
          pct(r.rate(r.timeouts)), pct(r.rate(r.errors)), pct(r.rate(r.truncated)), ms(r.p(r.latency, 50)),
          ms(r.p(r.latency, 95)), ms(r.p(r.latency, 99)), ms(r.p(r.firstToken, 50)),
          pct(r.requests == 0 ? 0 : (double) r.retried / r.requests)));
    }
  }

  private static String pct(double v) {
    return String.format(Locale.ROOT, "%.1f%%", 100 * v);
  }

  private static String ms(long micros) {
    return micros < 0 ? "-" : String.format(Locale.ROOT, "%.1f", micros / 1000.0);
  }

  private static String truncate(String s, int n) {
    return s.length() <= n ? s : s.substring(0, n - 1) + "…";
  }
}
