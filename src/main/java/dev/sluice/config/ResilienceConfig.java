package dev.sluice.config;

import java.time.Duration;
import java.util.Set;

/**
 * How a model's requests retry, hedge and steer around trouble (DESIGN.md 4). Set gateway-wide under
 * {@code resilience:} and per model under {@code models.<name>.resilience:}; a model's keys override
 * the gateway's one by one.
 */
public record ResilienceConfig(
    Retry retry, Budget budget, Breaker breaker, Hedge hedge, AdaptiveFirstByte adaptive, Quota quota,
    Routing routing) {

  public static final ResilienceConfig DEFAULTS = new ResilienceConfig(
      Retry.DEFAULTS, Budget.DEFAULTS, Breaker.DEFAULTS, Hedge.DEFAULTS, AdaptiveFirstByte.DEFAULTS,
      Quota.DEFAULTS, Routing.WEIGHTED);

  /** How deployments of a model are ordered. */
  public enum Routing {
    /** Weighted random. */
    WEIGHTED,
    /** Power of two choices on a latency EWMA with an in-flight penalty (PeakEWMA). */
    P2C,
    /** The deployment with the fewest attempts in flight. */
    LEAST_INFLIGHT
  }

  /** Outcomes that may be retried. */
  public enum RetryOn { CONNECT, RESET, FIRST_BYTE, FIRST_TOKEN, S429, S500, S502, S503, S504 }

  /**
   * @param maxAttempts    attempts per request in all, the first included; default 3
   * @param on             what is retried; default connect errors, resets before the first byte,
   *                       first-byte and first-token timeouts, 429, 500, 502, 503, 504
   * @param backoffBase    first backoff before retrying the same deployment (full jitter); default 100 ms
   * @param backoffMax     backoff ceiling; default 2 s
   * @param honorRetryAfter wait a deployment's {@code Retry-After} before using it again; default true
   * @param minUsefulTime  no attempt starts with less budget left; {@code null} = the deployment's
   *                       observed median first byte (first token for streams), at least 20 ms
   */
  public record Retry(int maxAttempts, Set<RetryOn> on, Duration backoffBase, Duration backoffMax,
      boolean honorRetryAfter, Duration minUsefulTime) {
    public static final Retry DEFAULTS = new Retry(3, Set.of(RetryOn.values()), Duration.ofMillis(100),
        Duration.ofSeconds(2), true, null);

    public Retry {
      on = Set.copyOf(on);
    }
  }

  /**
   * Retries and hedges together stay under {@code ratio} of recent requests, with a floor of
   * {@code minPerSecond} so low traffic can still retry.
   *
   * @param ratio        default 0.1
   * @param minPerSecond default 1
   * @param window       the "recent" in recent requests; default 10 s
   */
  public record Budget(double ratio, double minPerSecond, Duration window) {
    public static final Budget DEFAULTS = new Budget(0.1, 1, Duration.ofSeconds(10));
  }

  /**
   * A circuit breaker per deployment (Resilience4j), over a sliding window of calls.
   *
   * @param enabled            default true
   * @param failureRate        percent of failed calls that opens it; default 50
   * @param slowCallRate       percent of slow calls that opens it; default 100 (only if all are slow)
   * @param slowCallDuration   a call slower than this (to its answer or first token) is slow; default 30 s
   * @param window             calls in the sliding window; default 20
   * @param minimumCalls       calls before rates are judged; default 10
   * @param openFor            how long it stays open before probing; default 30 s
   * @param halfOpenCalls      probes while half-open; default 3
   */
  public record Breaker(boolean enabled, float failureRate, float slowCallRate, Duration slowCallDuration,
      int window, int minimumCalls, Duration openFor, int halfOpenCalls) {
    public static final Breaker DEFAULTS = new Breaker(true, 50, 100, Duration.ofSeconds(30), 20, 10,
        Duration.ofSeconds(30), 3);
  }

  /**
   * Tail-latency hedging: when an attempt has no first byte (first token for streams) after
   * {@code delay}, one more attempt starts on another deployment; the first to commit wins.
   *
   * @param enabled default false
   * @param delay   {@code null} = the deployment's observed p95 (needs {@code minSamples})
   * @param minSamples observations needed before the observed p95 is trusted; default 20
   */
  public record Hedge(boolean enabled, Duration delay, int minSamples) {
    public static final Hedge DEFAULTS = new Hedge(false, null, 20);
  }

  /**
   * Tightens a deployment's first-byte / first-token guard to its observed latency: p99 × factor,
   * never below {@code floor}, never above the configured guard.
   *
   * @param enabled default false
   * @param factor  default 3
   * @param floor   default 1 s
   * @param minSamples observations needed; default 50
   */
  public record AdaptiveFirstByte(boolean enabled, double factor, Duration floor, int minSamples) {
    public static final AdaptiveFirstByte DEFAULTS = new AdaptiveFirstByte(false, 3, Duration.ofSeconds(1), 50);
  }

  /**
   * Steers away from a deployment whose {@code x-ratelimit-remaining-*} headers say it is about to
   * answer 429, until its reset time.
   *
   * @param enabled          default true
   * @param minRemainingRequests steer away at or below this many requests left; default 0
   * @param minRemainingTokens   steer away at or below this many tokens left; default 0
   */
  public record Quota(boolean enabled, long minRemainingRequests, long minRemainingTokens) {
    public static final Quota DEFAULTS = new Quota(true, 0, 0);
  }
}
