package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Compares a run with a baseline figure by figure. A figure regresses when it moved the wrong way
 * by more than the threshold: latency up, or throughput or success rate down. Maxima and the
 * generator's own lateness are shown but never judged: one outlier decides them.
 */
public final class BaselineComparison {
  /** Which way is better for a figure. */
  public enum Better { LOWER, HIGHER, NEITHER }

  /** A figure the comparison looks at: a JSON path such as {@code latency_ms.p99}. */
  public record Figure(String path, Better better) { }

  /** One line of the comparison; {@code changePct} is NaN when the baseline is zero and so is now. */
  public record Row(Figure figure, double baseline, double now, double changePct, boolean regressed) { }

  public static final List<Figure> FIGURES = List.of(
      new Figure("throughput_rps", Better.HIGHER),
      new Figure("success_rate", Better.HIGHER),
      new Figure("latency_ms.p50", Better.LOWER),
      new Figure("latency_ms.p90", Better.LOWER),
      new Figure("latency_ms.p99", Better.LOWER),
      new Figure("latency_ms.p99_9", Better.LOWER),
      new Figure("latency_ms.max", Better.NEITHER),
      new Figure("ttft_ms.p50", Better.LOWER),
      new Figure("ttft_ms.p90", Better.LOWER),
      new Figure("ttft_ms.p99", Better.LOWER),
      new Figure("chunk_delay_ms.p50", Better.LOWER),
      new Figure("chunk_delay_ms.p99", Better.LOWER),
      new Figure("lateness_ms.p99", Better.NEITHER));

  private final List<Row> rows;

  private BaselineComparison(List<Row> rows) {
    this.rows = List.copyOf(rows);
  }

  /** Compares every figure present in both documents; {@code thresholdPct} is e.g. 20 for 20%. */
  public static BaselineComparison of(JsonNode baseline, JsonNode now, double thresholdPct) {
    List<Row> rows = new ArrayList<>();
    for (Figure f : FIGURES) {
      JsonNode b = at(baseline, f.path());
      JsonNode n = at(now, f.path());
      if (!b.isNumber() || !n.isNumber() || noSample(baseline, f.path()) || noSample(now, f.path())) {
        continue;
      }
      double bv = b.asDouble();
      double nv = n.asDouble();
      double change = changePct(bv, nv);
      rows.add(new Row(f, bv, nv, change, regressed(f.better(), change, thresholdPct)));
    }
    return new BaselineComparison(rows);
  }

  /**
   * A percentile of a histogram that recorded nothing (every request failed, or a stream carried no
   * text) is written as 0: it is no figure, and comparing it would call any real latency after it an
   * infinite regression, or a latency that vanished with the successes an improvement.
   */
  private static boolean noSample(JsonNode root, String dotted) {
    int dot = dotted.lastIndexOf('.');
    if (dot < 0) {
      return false;
    }
    JsonNode count = at(root, dotted.substring(0, dot) + ".count");
    return count.isNumber() && count.asLong() == 0;
  }

  static JsonNode at(JsonNode root, String dotted) {
    JsonNode n = root;
    for (String part : dotted.split("\\.")) {
      n = n.path(part);
    }
    return n;
  }

  /** Percent change from {@code base} to {@code now}; +/-infinity from a zero baseline, NaN for 0 to 0. */
  static double changePct(double base, double now) {
    if (base == 0) {
      return now == 0 ? Double.NaN : Math.copySign(Double.POSITIVE_INFINITY, now);
    }
    return (now - base) / Math.abs(base) * 100.0;
  }

  static boolean regressed(Better better, double changePct, double thresholdPct) {
    if (Double.isNaN(changePct)) {
      return false;
    }
    return switch (better) {
      case LOWER -> changePct > thresholdPct;
      case HIGHER -> changePct < -thresholdPct;
      case NEITHER -> false;
    };
  }

  public List<Row> rows() {
    return rows;
  }

  public boolean anyRegressed() {
    return rows.stream().anyMatch(Row::regressed);
  }

  public String render(String baselineName, double thresholdPct) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "compared with baseline '%s' (regression threshold %s%%)%n", baselineName,
        trim(thresholdPct)));
    sb.append(String.format(Locale.ROOT, "%-22s %12s %12s %10s  %s%n", "figure", "baseline", "now", "change", "verdict"));
    for (Row r : rows) {
      String change = Double.isNaN(r.changePct()) ? "-"
          : Double.isInfinite(r.changePct()) ? (r.changePct() > 0 ? "+inf" : "-inf")
          : String.format(Locale.ROOT, "%+.1f%%", r.changePct());
      String verdict = r.regressed() ? "REGRESSED"
          : r.figure().better() == Better.NEITHER ? "(not judged)" : "ok";
      sb.append(String.format(Locale.ROOT, "%-22s %12s %12s %10s  %s%n", r.figure().path(), trim(r.baseline()),
          trim(r.now()), change, verdict));
    }
    long bad = rows.stream().filter(Row::regressed).count();
    sb.append(bad == 0 ? "no regression\n" : bad + " figure(s) regressed beyond " + trim(thresholdPct) + "%\n");
    return sb.toString();
  }

  private static String trim(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.3f", v);
  }
}
