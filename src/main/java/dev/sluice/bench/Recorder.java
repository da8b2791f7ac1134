package dev.sluice.bench;

import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * The figures of one lane (one event loop, so no locking): latency histograms in microseconds and
 * counters. Lanes are merged once the run is over.
 */
public final class Recorder {
  /** A send more than this after its intended instant counts as late. */
  public static final long LATE_NANOS = 1_000_000;
  private static final long MAX_MICROS = 3_600_000_000L;

  private final Histogram latency = histogram();
  private final Histogram firstText = histogram();
  private final Histogram chunkDelay = histogram();
  private final Histogram lateness = histogram();
  private final Histogram connectionWait = histogram();
  private final Histogram failedLatency = histogram();
  private final Map<String, Long> errors = new TreeMap<>();
  private long sent;
  private long completed;
  private long ok;
  private long late;
  private long negativeDelays;
  private long maxInFlight;
  private long lastCompletionNanos = Long.MIN_VALUE;

  private static Histogram histogram() {
    return new Histogram(MAX_MICROS, 3);
  }

  static long micros(long nanos) {
    return Math.min(MAX_MICROS, Math.max(0, nanos / 1000));
  }

  /** The generator started a request {@code latenessNanos} after it was due (timer slack, busy CPU). */
  public void started(long latenessNanos) {
    lateness.recordValue(micros(latenessNanos));
    if (latenessNanos > LATE_NANOS) {
      late++;
    }
  }

  /** A started request got its connection after {@code waitNanos} (pool wait, or a new connection) and was sent. */
  public void sent(long waitNanos) {
    sent++;
    connectionWait.recordValue(micros(waitNanos));
  }

  /** A full answer arrived (any status); {@code ok} when it counts as a success. */
  public void completed(boolean success, long latencyNanos, long atNanos) {
    completed++;
    if (success) {
      ok++;
      latency.recordValue(micros(latencyNanos));
    } else {
      failedLatency.recordValue(micros(latencyNanos));
    }
    lastCompletionNanos = Math.max(lastCompletionNanos, atNanos);
  }

  public void error(String reason) {
    errors.merge(reason, 1L, Long::sum);
  }

  public void firstText(long nanosSinceIntended) {
    firstText.recordValue(micros(nanosSinceIntended));
  }

  public void chunkDelay(long nanos) {
    if (nanos < 0) {
      negativeDelays++;
    }
    chunkDelay.recordValue(micros(nanos));
  }

  public void inFlight(long n) {
    maxInFlight = Math.max(maxInFlight, n);
  }

  public void merge(Recorder o) {
    latency.add(o.latency);
    firstText.add(o.firstText);
    chunkDelay.add(o.chunkDelay);
    lateness.add(o.lateness);
    connectionWait.add(o.connectionWait);
    failedLatency.add(o.failedLatency);
    o.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
    sent += o.sent;
    completed += o.completed;
    ok += o.ok;
    late += o.late;
    negativeDelays += o.negativeDelays;
    maxInFlight = Math.max(maxInFlight, o.maxInFlight);
    lastCompletionNanos = Math.max(lastCompletionNanos, o.lastCompletionNanos);
  }

  /** How long answers that did not count as a success took (refusals, errors, timeouts). */
  public Histogram failedLatency() {
    return failedLatency;
  }

  public Histogram latency() {
    return latency;
  }

  public Histogram firstTextHistogram() {
    return firstText;
  }

  public Histogram chunkDelayHistogram() {
    return chunkDelay;
  }

  public Histogram lateness() {
    return lateness;
  }

  public Histogram connectionWait() {
    return connectionWait;
  }

  public Map<String, Long> errors() {
    return errors;
  }

  public long failed() {
    return errors.values().stream().mapToLong(Long::longValue).sum();
  }

  public long sentCount() {
    return sent;
  }

  public long completedCount() {
    return completed;
  }

  public long okCount() {
    return ok;
  }

  public long lateCount() {
    return late;
  }

  public long negativeDelays() {
    return negativeDelays;
  }

  public long maxInFlight() {
    return maxInFlight;
  }

  /** {@link System#nanoTime()} of the last completion, or {@link Long#MIN_VALUE} when none. */
  public long lastCompletionNanos() {
    return lastCompletionNanos;
  }
}
