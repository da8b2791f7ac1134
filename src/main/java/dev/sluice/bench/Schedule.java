package dev.sluice.bench;

/**
 * The open-loop timetable: request {@code i} is due {@code i / rate} seconds after the start,
 * whatever happened to the requests before it. The first {@code warmup} of it is not measured.
 */
public final class Schedule {
  private final double rate;
  private final long warmupNanos;
  private final long totalNanos;
  private final long warmupCount;
  private final long total;

  public Schedule(double rate, long warmupNanos, long durationNanos) {
    if (!(rate > 0)) {
      throw new IllegalArgumentException("rate must be positive");
    }
    this.rate = rate;
    this.warmupNanos = warmupNanos;
    this.totalNanos = warmupNanos + durationNanos;
    this.warmupCount = countBefore(warmupNanos);
    this.total = countBefore(totalNanos);
  }

  /** How many requests are due strictly before {@code nanos} after the start. */
  private long countBefore(long nanos) {
    if (nanos <= 0) {
      return 0;
    }
    // smallest n with offset(n) >= nanos; computed then corrected so rounding never drops or adds one
    long n = (long) Math.ceil(nanos * rate / 1e9);
    while (n > 0 && offsetNanos(n - 1) >= nanos) {
      n--;
    }
    while (offsetNanos(n) < nanos) {
      n++;
    }
    return n;
  }

  /** When request {@code i} is due, in nanoseconds after the start. */
  public long offsetNanos(long i) {
    return Math.round(i * 1e9 / rate);
  }

  /** Every request of the run, warm-up included. */
  public long total() {
    return total;
  }

  /** Requests in the measured part. */
  public long measured() {
    return total - warmupCount;
  }

  public long warmupCount() {
    return warmupCount;
  }

  public boolean isWarmup(long i) {
    return i < warmupCount;
  }

  /** Nanoseconds from the start to the end of the timetable (the last request is due before it). */
  public long spanNanos() {
    return totalNanos;
  }

  public long warmupNanos() {
    return warmupNanos;
  }

  /** Intended requests per second. */
  public double rate() {
    return rate;
  }
}
