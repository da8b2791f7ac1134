package dev.sluice.resilience;

import dev.sluice.config.ResilienceConfig;
import java.util.function.LongSupplier;

/**
 * Keeps retries and hedges under a share of recent requests so that they cannot multiply an
 * outage: a retry may start while {@code retries < max(ratio × requests, minPerSecond × window)}
 * over the last {@code window}. The window is a ring of one-tenth buckets, so old traffic leaves
 * it gradually. Shared by event loops; the critical sections are a few array writes.
 */
public final class RetryBudget {
  private static final int BUCKETS = 10;

  private final double ratio;
  private final double floor;
  private final long bucketNanos;
  private final LongSupplier clock;
  private final long[] requests = new long[BUCKETS];
  private final long[] retries = new long[BUCKETS];
  private long currentBucket;

  public RetryBudget(ResilienceConfig.Budget config, LongSupplier clock) {
    this.ratio = config.ratio();
    this.floor = config.minPerSecond() * config.window().toNanos() / 1e9;
    this.bucketNanos = Math.max(1, config.window().toNanos() / BUCKETS);
    this.clock = clock;
    this.currentBucket = clock.getAsLong() / bucketNanos;
  }

  /** A first attempt went out. */
  public synchronized void onRequest() {
    roll();
    requests[(int) (currentBucket % BUCKETS)]++;
  }

  /** Takes one retry (or hedge) from the budget if there is one left. */
  public synchronized boolean tryRetry() {
    roll();
    long req = 0;
    long ret = 0;
    for (int i = 0; i < BUCKETS; i++) {
      req += requests[i];
      ret += retries[i];
    }
    if (ret + 1 > Math.max(ratio * req, floor)) {
      return false;
    }
    retries[(int) (currentBucket % BUCKETS)]++;
    return true;
  }

  /** Gives back a retry that was taken but not used. */
  public synchronized void refund() {
    int i = (int) (currentBucket % BUCKETS);
    if (retries[i] > 0) {
      retries[i]--;
    }
  }

  public synchronized long retriesInWindow() {
    roll();
    long ret = 0;
    for (long r : retries) {
      ret += r;
    }
    return ret;
  }

  private void roll() {
    long b = clock.getAsLong() / bucketNanos;
    if (b == currentBucket) {
      return;
    }
    long steps = Math.min(BUCKETS, b - currentBucket);
    for (long s = 1; s <= steps; s++) {
      int i = (int) ((currentBucket + s) % BUCKETS);
      requests[i] = 0;
      retries[i] = 0;
    }
    currentBucket = b;
  }
}
