package dev.sluice.provider.sim;

/**
 * A token bucket of requests per minute, refilled continuously: the simulator's own rate limit,
 * which also supplies the {@code x-ratelimit-remaining-requests} a real provider would send.
 */
final class RequestsPerMinute {
  private final int limit;
  private double tokens;
  private long lastNanos;

  RequestsPerMinute(int limit, long nowNanos) {
    this.limit = limit;
    this.tokens = limit;
    this.lastNanos = nowNanos;
  }

  /** Takes one request; returns the remaining count, or -1 when the limit is reached. */
  synchronized int take(long nowNanos) {
    refill(nowNanos);
    if (tokens < 1) {
      return -1;
    }
    tokens -= 1;
    return (int) tokens;
  }

  /** Seconds until one more request is allowed. */
  synchronized long secondsUntilNext(long nowNanos) {
    refill(nowNanos);
    double missing = Math.max(0, 1 - tokens);
    return Math.max(1, (long) Math.ceil(missing * 60.0 / limit));
  }

  int limit() {
    return limit;
  }

  private void refill(long nowNanos) {
    double add = (nowNanos - lastNanos) / 60e9 * limit;
    tokens = Math.min(limit, tokens + add);
    lastNanos = nowNanos;
  }
}
