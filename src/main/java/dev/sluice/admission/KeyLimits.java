package dev.sluice.admission;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One key's limits at run time: requests and tokens per minute (Bucket4j token buckets, refilled
 * continuously) and requests at once. Tokens are estimated when a request is admitted and
 * reconciled with the provider's reported usage when it ends.
 */
public final class KeyLimits {
  /** Why a key's request was refused, and when it may come back. */
  public record Refusal(String reason, String message, long retryAfterSeconds) {}

  private final ApiKey key;
  private final Bucket requests;
  private final Bucket tokens;
  private final AtomicInteger active = new AtomicInteger();

  public KeyLimits(ApiKey key, TimeMeter meter) {
    this.key = key;
    this.requests = key.rpm() > 0 ? bucket(key.rpm(), meter) : null;
    this.tokens = key.tpm() > 0 ? bucket(key.tpm(), meter) : null;
  }

  /**
   * The largest rate a bucket is given: what {@code POST /admin/keys} and {@code sluice keys create}
   * accept. A key stored with more (earlier command lines took any number) is held to this instead,
   * which is no limit in practice: past about 60 billion a minute Bucket4j refuses to build the
   * bucket at all, and the key's every request would fail.
   */
  static final long MAX_PER_MINUTE = Integer.MAX_VALUE;

  private static Bucket bucket(long wanted, TimeMeter meter) {
    long perMinute = Math.min(wanted, MAX_PER_MINUTE);
    return Bucket.builder()
        .addLimit(limit -> limit.capacity(perMinute).refillGreedy(perMinute, Duration.ofMinutes(1)))
        .withCustomTimePrecision(meter)
        .build();
  }

  public ApiKey key() {
    return key;
  }

  /** Admits one request estimated at {@code estimatedTokens}, or says why not. Null means admitted. */
  public Refusal tryAdmit(long estimatedTokens) {
    if (key.maxConcurrency() > 0) {
      int now = active.incrementAndGet();
      if (now > key.maxConcurrency()) {
        active.decrementAndGet();
        return new Refusal("concurrency", "this key already has " + key.maxConcurrency()
            + " requests in flight, its limit", 1);
      }
    } else {
      active.incrementAndGet();
    }
    if (requests != null) {
      ConsumptionProbe p = requests.tryConsumeAndReturnRemaining(1);
      if (!p.isConsumed()) {
        active.decrementAndGet();
        return new Refusal("rate_limited", "this key is over its " + key.rpm() + " requests per minute",
            seconds(p.getNanosToWaitForRefill()));
      }
    }
    if (tokens != null) {
      long want = Math.min(estimatedTokens, key.tpm());
      ConsumptionProbe p = tokens.tryConsumeAndReturnRemaining(want);
      if (!p.isConsumed()) {
        if (requests != null) {
          requests.addTokens(1);
        }
        active.decrementAndGet();
        return new Refusal("rate_limited", "this key is over its " + key.tpm() + " tokens per minute",
            seconds(p.getNanosToWaitForRefill()));
      }
    }
    return null;
  }

  /** The gateway itself refused an admitted request (503 with Retry-After): it does not count as one of the key's. */
  public void refundRequest() {
    if (requests != null) {
      requests.addTokens(1);
    }
  }

  /** The request ended. */
  public void release() {
    active.decrementAndGet();
  }

  /** Corrects the token bucket once the provider said how many tokens a request really used. */
  public void reconcile(long estimated, long actual) {
    if (tokens == null || actual < 0) {
      return;
    }
    long charged = Math.min(estimated, key.tpm());
    if (actual < charged) {
      tokens.addTokens(charged - actual);
    } else if (actual > charged) {
      tokens.consumeIgnoringRateLimits(actual - charged);
    }
  }

  public int active() {
    return active.get();
  }

  /** {@code x-ratelimit-*} headers describing what is left, in OpenAI's names. */
  public void describe(java.util.function.BiConsumer<String, String> header) {
    if (requests != null) {
      header.accept("x-ratelimit-limit-requests", String.valueOf(key.rpm()));
      long left = Math.max(0, requests.getAvailableTokens());
      header.accept("x-ratelimit-remaining-requests", String.valueOf(left));
      header.accept("x-ratelimit-reset-requests", resetText(left, key.rpm()));
    }
    if (tokens != null) {
      header.accept("x-ratelimit-limit-tokens", String.valueOf(key.tpm()));
      long left = Math.max(0, tokens.getAvailableTokens());
      header.accept("x-ratelimit-remaining-tokens", String.valueOf(left));
      header.accept("x-ratelimit-reset-tokens", resetText(left, key.tpm()));
    }
  }

  /** Time until the bucket is full again at its refill pace. */
  private static String resetText(long left, long perMinute) {
    double seconds = (perMinute - left) * 60.0 / perMinute;
    return seconds < 1 ? Math.round(seconds * 1000) + "ms" : String.format(java.util.Locale.ROOT, "%.1fs", seconds);
  }

  private static long seconds(long nanos) {
    return Math.max(1, (nanos + 999_999_999L) / 1_000_000_000L);
  }
}
