package dev.sluice.telemetry;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Per-second figures for the live dashboard: request rate, latency and first-token percentiles,
 * error and timeout rates per model and provider. Event loops record without locks (LongAdders and
 * HdrHistogram Recorders); once a second {@link #tick} turns the interval into a snapshot and keeps
 * the last few minutes of snapshots for clients that connect later.
 */
public final class LiveStats implements dev.sluice.telemetry.Recorder {
  private static final int HISTORY = 300;
  private static final int LATEST = 25;

  private static final class Series {
    final String model;
    final String provider;
    final LongAdder requests = new LongAdder();
    final LongAdder errors = new LongAdder();
    final LongAdder timeouts = new LongAdder();
    final LongAdder truncated = new LongAdder();
    final Recorder latency = new Recorder(3_600_000_000L, 2);
    final Recorder firstToken = new Recorder(3_600_000_000L, 2);
    Histogram latencyScratch;
    Histogram firstTokenScratch;

    Series(String model, String provider) {
      this.model = model;
      this.provider = provider;
    }
  }

  private record Key(String model, String provider) {}

  private final ConcurrentHashMap<Key, Series> series = new ConcurrentHashMap<>();
  private volatile java.util.function.UnaryOperator<String> modelLabel = m -> m;

  /** How a model name is shown (pass-through names folded per provider); see {@code Metrics}. */
  public void modelLabels(java.util.function.UnaryOperator<String> labeler) {
    this.modelLabel = labeler;
  }
  /**
   * The latest requests, as a ring that event loops write without locks: a slot's sequence number
   * is written after its record, so a reader can tell a slot it may read from one being rewritten.
   */
  private static final int RING = 128;
  private final AtomicReferenceArray<RequestRecord> latest = new AtomicReferenceArray<>(RING);
  private final AtomicLongArray latestSeq = new AtomicLongArray(RING);
  private final AtomicLong latestNext = new AtomicLong();
  /** The sequence number of the first request not yet shown (read and written by tick only). */
  private long latestShown;
  private final Deque<JsonObject> history = new ArrayDeque<>();

  @Override
  public void record(RequestRecord r) {
    if (r.outcome() == Outcome.REJECTED && r.model() == null) {
      return; // malformed requests have no model to chart
    }
    // as in the metrics: a refused request's model may be any made-up name; it is not a series
    String model = r.model() == null || r.provider() == null ? "none" : modelLabel.apply(r.model());
    String provider = r.provider() == null ? "none" : r.provider();
    Key key = new Key(model, provider);
    Series s = series.get(key);
    if (s == null) {
      s = series.computeIfAbsent(key, k -> new Series(k.model(), k.provider()));
    }
    s.requests.increment();
    switch (r.outcome()) {
      case TIMEOUT -> s.timeouts.increment();
      case UPSTREAM_ERROR, UNAVAILABLE, GATEWAY_ERROR -> s.errors.increment();
      case TRUNCATED -> s.truncated.increment();
      default -> { }
    }
    if (r.latencyMs() >= 0) {
      s.latency.recordValue(Math.min(3_600_000_000L, Math.max(1, (long) (r.latencyMs() * 1000))));
    }
    if (r.firstTokenMs() >= 0) {
      s.firstToken.recordValue(Math.min(3_600_000_000L, Math.max(1, (long) (r.firstTokenMs() * 1000))));
    }
    long n = latestNext.getAndIncrement();
    int slot = (int) (n & (RING - 1));
    latestSeq.set(slot, -1);
    latest.set(slot, r);
    latestSeq.set(slot, n);
  }

  /** Closes the current second: returns its snapshot and keeps it in the history. */
  public synchronized JsonObject tick(long epochMillis, JsonObject extra) {
    JsonArray models = new JsonArray();
    long total = 0;
    List<Series> sorted = new ArrayList<>(series.values());
    sorted.sort(java.util.Comparator.comparing((Series x) -> x.model).thenComparing(x -> x.provider));
    for (Series s : sorted) {
      long n = s.requests.sumThenReset();
      long errors = s.errors.sumThenReset();
      long timeouts = s.timeouts.sumThenReset();
      long truncated = s.truncated.sumThenReset();
      s.latencyScratch = s.latency.getIntervalHistogram(s.latencyScratch);
      s.firstTokenScratch = s.firstToken.getIntervalHistogram(s.firstTokenScratch);
      total += n;
      if (n == 0) {
        continue;
      }
      models.add(new JsonObject()
          .put("model", s.model)
          .put("provider", s.provider)
          .put("requests", n)
          .put("errors", errors)
          .put("timeouts", timeouts)
          .put("truncated", truncated)
          .put("latency_ms", percentiles(s.latencyScratch))
          .put("first_token_ms", percentiles(s.firstTokenScratch)));
    }
    JsonArray requests = new JsonArray();
    long end = latestNext.get();
    for (long n = Math.max(latestShown, end - LATEST); n < end; n++) {
      int slot = (int) (n & (RING - 1));
      // a slot still being written, or already rewritten by a newer request, is left out
      if (latestSeq.get(slot) != n) {
        continue;
      }
      RequestRecord r = latest.get(slot);
      if (latestSeq.get(slot) == n && r != null) {
        requests.add(toJson(r));
      }
    }
    latestShown = end;
    JsonObject snap = new JsonObject()
        .put("type", "tick")
        .put("ts", epochMillis)
        .put("requests", total)
        .put("series", models)
        .put("latest", requests);
    if (extra != null) {
      extra.forEach(e -> snap.put(e.getKey(), e.getValue()));
    }
    history.addLast(snap);
    while (history.size() > HISTORY) {
      history.removeFirst();
    }
    return snap;
  }

  /** The last few minutes of ticks, oldest first, without their request lists. */
  public synchronized JsonArray history() {
    JsonArray out = new JsonArray();
    for (JsonObject t : history) {
      JsonObject c = t.copy();
      c.remove("latest");
      out.add(c);
    }
    return out;
  }

  /** Sums of the last {@code seconds} ticks per model and provider (for alert rules). */
  public synchronized Map<String, long[]> window(int seconds) {
    Map<String, long[]> out = new TreeMap<>();
    int i = 0;
    var it = history.descendingIterator();
    while (it.hasNext() && i++ < seconds) {
      JsonObject t = it.next();
      for (Object o : t.getJsonArray("series")) {
        JsonObject s = (JsonObject) o;
        long[] a = out.computeIfAbsent(s.getString("model") + " on " + s.getString("provider"), k -> new long[4]);
        a[0] += s.getLong("requests");
        a[1] += s.getLong("errors");
        a[2] += s.getLong("timeouts");
        a[3] += s.getLong("truncated");
      }
    }
    return out;
  }

  private static JsonObject percentiles(Histogram h) {
    if (h == null || h.getTotalCount() == 0) {
      return null;
    }
    return new JsonObject()
        .put("p50", h.getValueAtPercentile(50) / 1000.0)
        .put("p95", h.getValueAtPercentile(95) / 1000.0)
        .put("p99", h.getValueAtPercentile(99) / 1000.0);
  }

  static JsonObject toJson(RequestRecord r) {
    return new JsonObject()
        .put("id", r.id())
        .put("ts", r.startEpochMillis())
        .put("model", r.model())
        .put("provider", r.provider())
        .put("deployment", r.deployment())
        .put("status", r.status())
        .put("outcome", r.outcome().label())
        .put("error_type", r.errorType())
        .put("latency_ms", round(r.latencyMs()))
        .put("first_token_ms", r.firstTokenMs() < 0 ? null : round(r.firstTokenMs()))
        .put("attempts", r.attempts())
        .put("route", r.route())
        .put("stream", r.stream());
  }

  private static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }
}
