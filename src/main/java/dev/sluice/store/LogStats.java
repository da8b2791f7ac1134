package dev.sluice.store;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.sql.SQLException;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * Aggregates a window of the request log per model and provider: request count, success, timeout
 * and error rates, latency and first-token percentiles. Rows are streamed into histograms, so memory
 * does not grow with the window.
 */
public final class LogStats {
  private LogStats() {}

  private static final class Group {
    final String model;
    final String provider;
    long requests;
    long success;
    long timeouts;
    long errors;
    long truncated;
    long clientClosed;
    long rejected;
    long retried;
    long hedged;
    final Histogram latency = new Histogram(3_600_000_000L, 3);
    final Histogram firstToken = new Histogram(3_600_000_000L, 3);

    Group(String model, String provider) {
      this.model = model;
      this.provider = provider;
    }
  }

  public static JsonObject compute(RequestLogReader reader, long sinceMillis, long untilMillis) throws SQLException {
    Map<String, Group> groups = new TreeMap<>();
    Group all = new Group("*", "*");
    reader.export(new LogFilter(sinceMillis, untilMillis, null, null, null, null, -1, 0), row -> {
      String model = row.getString("model", "");
      String provider = row.getString("provider", "");
      Group g = groups.computeIfAbsent(model + "\u0000" + provider, k -> new Group(model, provider));
      add(g, row);
      add(all, row);
    });
    JsonArray out = new JsonArray();
    groups.values().forEach(g -> out.add(json(g)));
    return new JsonObject()
        .put("since", sinceMillis)
        .put("until", untilMillis)
        .put("total", json(all))
        .put("groups", out);
  }

  private static void add(Group g, JsonObject row) {
    g.requests++;
    switch (row.getString("outcome", "")) {
      case "success" -> g.success++;
      case "timeout" -> g.timeouts++;
      case "truncated" -> g.truncated++;
      case "client_closed" -> g.clientClosed++;
      case "rejected" -> g.rejected++;
      default -> g.errors++;
    }
    Integer attempts = row.getInteger("attempts");
    if (attempts != null && attempts > 1) {
      g.retried++;
    }
    if (Boolean.TRUE.equals(row.getBoolean("hedged"))) {
      g.hedged++;
    }
    Double lat = row.getDouble("latency_ms");
    if (lat != null && lat >= 0) {
      g.latency.recordValue(Math.min(g.latency.getHighestTrackableValue(), Math.max(1, Math.round(lat * 1000))));
    }
    Double ft = row.getDouble("first_token_ms");
    if (ft != null && ft >= 0) {
      g.firstToken.recordValue(Math.min(g.firstToken.getHighestTrackableValue(), Math.max(1, Math.round(ft * 1000))));
    }
  }

  private static JsonObject json(Group g) {
    double n = Math.max(1, g.requests);
    long served = g.requests - g.rejected - g.clientClosed;
    double s = Math.max(1, served);
    return new JsonObject()
        .put("model", g.model)
        .put("provider", g.provider)
        .put("requests", g.requests)
        .put("success_rate", served == 0 ? null : round(g.success / s))
        .put("timeout_rate", served == 0 ? null : round(g.timeouts / s))
        .put("error_rate", served == 0 ? null : round(g.errors / s))
        .put("truncated_rate", served == 0 ? null : round(g.truncated / s))
        .put("client_closed", g.clientClosed)
        .put("rejected", g.rejected)
        .put("retried_share", round(g.retried / n))
        .put("hedged_share", round(g.hedged / n))
        .put("latency_ms", percentiles(g.latency))
        .put("first_token_ms", g.firstToken.getTotalCount() == 0 ? null : percentiles(g.firstToken));
  }

  private static JsonObject percentiles(Histogram h) {
    if (h.getTotalCount() == 0) {
      return null;
    }
    return new JsonObject()
        .put("p50", h.getValueAtPercentile(50) / 1000.0)
        .put("p95", h.getValueAtPercentile(95) / 1000.0)
        .put("p99", h.getValueAtPercentile(99) / 1000.0)
        .put("max", h.getMaxValue() / 1000.0);
  }

  private static double round(double v) {
    return Math.round(v * 10_000) / 10_000.0;
  }
}
