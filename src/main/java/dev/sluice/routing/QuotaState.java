package dev.sluice.routing;

import dev.sluice.config.Durations;
import java.util.function.LongSupplier;

/**
 * What a provider's {@code x-ratelimit-remaining-requests/-tokens} and {@code x-ratelimit-reset-*}
 * headers said last. A deployment whose remaining quota is at or below a threshold is avoided until
 * its reset time: the gateway steers away before the provider starts answering 429.
 */
public final class QuotaState {
  private final LongSupplier clock;
  private volatile long exhaustedUntilNanos;
  private volatile long remainingRequests = -1;
  private volatile long remainingTokens = -1;

  public QuotaState(LongSupplier clock) {
    this.clock = clock;
  }

  /**
   * @param remainingRequests header value or null
   * @param resetRequests     header value (e.g. {@code 1s}, {@code 6m0s}, {@code 250ms}) or null
   */
  public void update(String remainingRequests, String resetRequests, String remainingTokens, String resetTokens,
      long minRequests, long minTokens) {
    long now = clock.getAsLong();
    long until = 0;
    long rr = parseLong(remainingRequests);
    if (rr >= 0) {
      this.remainingRequests = rr;
      if (rr <= minRequests) {
        until = Math.max(until, now + resetNanos(resetRequests));
      }
    }
    long rt = parseLong(remainingTokens);
    if (rt >= 0) {
      this.remainingTokens = rt;
      if (rt <= minTokens) {
        until = Math.max(until, now + resetNanos(resetTokens));
      }
    }
    if (rr >= 0 || rt >= 0) {
      exhaustedUntilNanos = until;
    }
  }

  /** True while the last headers said the quota is spent and its reset has not come. */
  public boolean exhausted() {
    long u = exhaustedUntilNanos;
    return u != 0 && clock.getAsLong() < u;
  }

  public long remainingRequests() {
    return remainingRequests;
  }

  public long remainingTokens() {
    return remainingTokens;
  }

  private static long parseLong(String s) {
    if (s == null) {
      return -1;
    }
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Parses OpenAI-style resets ({@code 1s}, {@code 6m0s}, {@code 2m59.56s}, {@code 20ms}); 1 s when unknown. */
  static long resetNanos(String s) {
    if (s == null || s.isBlank()) {
      return 1_000_000_000L;
    }
    String t = s.trim();
    long total = 0;
    int i = 0;
    boolean any = false;
    while (i < t.length()) {
      int start = i;
      while (i < t.length() && (Character.isDigit(t.charAt(i)) || t.charAt(i) == '.')) {
        i++;
      }
      int unitStart = i;
      while (i < t.length() && Character.isLetter(t.charAt(i))) {
        i++;
      }
      if (start == unitStart) {
        return 1_000_000_000L;
      }
      long part = Durations.parseNanos(t.substring(start, i));
      if (part < 0) {
        double secs;
        try {
          secs = Double.parseDouble(t.substring(start, unitStart));
        } catch (NumberFormatException e) {
          return 1_000_000_000L;
        }
        part = (long) (secs * 1e9);
      }
      total += part;
      any = true;
    }
    return any ? total : 1_000_000_000L;
  }
}
