package dev.sluice.config;

import java.util.Map;

/**
 * How much work the gateway admits (DESIGN.md 5).
 *
 * @param maxInFlight        requests served at once by the whole gateway; beyond it {@code 503 overloaded}; default 10000
 * @param queueSize          requests that may wait per model for a deployment's concurrency; beyond it
 *                           {@code 503 queue_full}; default 1000
 * @param queueMaxWait       the longest a request may expect to wait in the queue, and may wait in it
 *                           ({@code 503 queue_full} at once when the estimate is longer, or when the
 *                           wait reaches it): null = none (default; only size and deadline bound it),
 *                           {@link #AUTO_WAIT} = half the deployments' mean slot hold time (10 ms floor),
 *                           or a duration
 * @param shares             guaranteed shares of the queue's dispatches per priority (high, normal, low);
 *                           default 0.6 / 0.3 / 0.1
 * @param memoryHigh         heap use after GC (share of max) at which new work is refused; default 0.85
 * @param memoryLow          heap use after GC below which new work is admitted again; default 0.75
 * @param limit              the adaptive concurrency limit of each deployment
 * @param openWithoutKeys    with no keys created, serve clients without a key — loopback only; default true
 */
public record AdmissionConfig(int maxInFlight, int queueSize, java.time.Duration queueMaxWait,
    Map<String, Double> shares, double memoryHigh, double memoryLow, Limit limit, boolean openWithoutKeys) {

  public static final AdmissionConfig DEFAULTS = new AdmissionConfig(10_000, 1000, null,
      Map.of("high", 0.6, "normal", 0.3, "low", 0.1), 0.85, 0.75, Limit.DEFAULTS, true);

  /** The value of {@code queueMaxWait} that stands for {@code auto}. */
  public static final java.time.Duration AUTO_WAIT = java.time.Duration.ofNanos(-1);

  public AdmissionConfig {
    shares = Map.copyOf(shares);
  }

  /**
   * A deployment's concurrency limit (Netflix concurrency-limits), fed by time to first token for
   * streams and total time otherwise.
   *
   * @param algorithm {@code gradient} (default), {@code vegas}, {@code tail}, {@code aimd} or {@code fixed}
   * @param initial   starting limit; default 512 (LLM calls last seconds and streams minutes: a provider
   *                  serves many at once)
   * @param min       floor; default 128 — latency from LLMs is noisy (it follows output length), and a
   *                  limit that a few slow answers can push to single digits turns a hiccup into 503s
   * @param max       ceiling; default 8192
   * @param tolerance how much slower than its usual latency a deployment may get before the limit
   *                  comes down. Gradient: against its long-term latency (Netflix's rttTolerance);
   *                  default 2.0. Vegas: against its lowest latency, i.e. the limit keeps the
   *                  provider's own queue under {@code limit × (1 − 1/tolerance)}; 0 (the default for
   *                  vegas) keeps the library's thresholds. Tail: against the lowest windowed p99
   *                  seen; must be above 1. Lower keeps latency closer to the unloaded
   *                  one under overload, at some cost in throughput
   */
  public record Limit(String algorithm, int initial, int min, int max, double tolerance) {
    public static final Limit DEFAULTS = new Limit("gradient", 512, 128, 8192, 2.0);
  }
}
