package dev.sluice.admission;

import com.netflix.concurrency.limits.Limit;
import com.netflix.concurrency.limits.limit.AIMDLimit;
import com.netflix.concurrency.limits.limit.FixedLimit;
import com.netflix.concurrency.limits.limit.Gradient2Limit;
import com.netflix.concurrency.limits.limit.VegasLimit;
import com.netflix.concurrency.limits.limit.WindowedLimit;
import com.netflix.concurrency.limits.limit.window.PercentileSampleWindowFactory;
import dev.sluice.config.AdmissionConfig;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How many attempts a deployment may have in flight: a limit from Netflix's concurrency-limits
 * (gradient, Vegas, AIMD, or Sluice's own {@link TailLimit}) that moves with the latency the deployment shows, under an optional
 * fixed ceiling. Slots are taken without locks; samples go to the limit algorithm.
 */
public final class ConcurrencyLimiter {
  /** The latency percentile the {@code tail} algorithm watches in each window. */
  static final double TAIL_PERCENTILE = 0.99;
  /**
   * Samples a window keeps for it (a window is about a second). The library's window ignores what
   * comes after it is full — the latency, and also a failure's drop signal — so it is sized far above
   * the few thousand answers a second one deployment gives.
   */
  static final int TAIL_WINDOW_SAMPLES = 20_000;
  private final Limit limit;
  private final int ceiling;
  /** Gradient2Limit ignores the drop flag: a fast 429's latency would read as a fast answer and raise the limit. */
  private final boolean dropsIgnored;
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile Runnable onFree = () -> { };
  /** Mean time a slot is held, for the queue's wait estimates (EWMA, nanoseconds). */
  private volatile double holdNanos = 1e8;

  public ConcurrencyLimiter(AdmissionConfig.Limit config, int fixedCeiling) {
    this.ceiling = fixedCeiling > 0 ? fixedCeiling : Integer.MAX_VALUE;
    int max = Math.min(config.max(), this.ceiling);
    this.dropsIgnored = !java.util.Set.of("fixed", "vegas", "tail", "aimd").contains(config.algorithm());
    int initial = Math.max(config.min(), Math.min(config.initial(), max));
    this.limit = switch (config.algorithm()) {
      case "fixed" -> FixedLimit.of(Math.min(config.initial(), this.ceiling));
      case "vegas" -> WindowedLimit.newBuilder().build(vegas(initial, Math.min(config.min(), max), max, config.tolerance()));
      case "tail" -> WindowedLimit.newBuilder()
          .sampleWindowFactory(PercentileSampleWindowFactory.of(TAIL_PERCENTILE, TAIL_WINDOW_SAMPLES))
          .build(new TailLimit(Math.min(initial, max), Math.min(config.min(), max), max, config.tolerance()));
      case "aimd" -> AIMDLimit.newBuilder().initialLimit(initial).minLimit(config.min()).maxLimit(max)
          .timeout(Long.MAX_VALUE / 2, TimeUnit.NANOSECONDS).build();
      default -> WindowedLimit.newBuilder().build(Gradient2Limit.newBuilder()
          .initialLimit(initial).minLimit(config.min()).maxConcurrency(max).rttTolerance(config.tolerance()).build());
    };
    limit.notifyOnChange(l -> onFree.run());
  }

  /**
   * Vegas estimates how many requests wait inside the provider: {@code limit × (1 − minRtt / rtt)}.
   * Left alone it keeps that between 3·log10(limit) and 6·log10(limit). With a tolerance, latency may
   * grow to {@code tolerance × minRtt}, which is a queue of {@code limit × (1 − 1/tolerance)}: the
   * limit comes down above that, and goes up below half of it.
   */
  static VegasLimit vegas(int initial, int min, int max, double tolerance) {
    // VegasLimit has no floor of its own (it goes down to 1): the configured min is applied on each decrease
    java.util.function.IntUnaryOperator log10 = com.netflix.concurrency.limits.limit.functions.Log10RootIntFunction.create(0);
    VegasLimit.Builder b = VegasLimit.newBuilder().initialLimit(initial).maxConcurrency(max)
        .decreaseFunction(limit -> Math.max(min, limit - log10.applyAsInt((int) limit)));
    if (tolerance > 0) {
      double share = 1 - 1 / tolerance;
      b.betaFunction(limit -> Math.max(2, (int) Math.ceil(limit * share)));
      b.alphaFunction(limit -> Math.max(1, (int) Math.ceil(limit * share / 2)));
    }
    return b.build();
  }

  /** Told when a slot may have become free (released, or the limit rose). */
  public void onFree(Runnable r) {
    this.onFree = r;
  }

  public int limit() {
    return Math.min(limit.getLimit(), ceiling);
  }

  public int inFlight() {
    return inFlight.get();
  }

  public boolean tryAcquire() {
    while (true) {
      int n = inFlight.get();
      if (n >= limit()) {
        return false;
      }
      if (inFlight.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /**
   * Gives a slot back.
   *
   * @param startNanos when the attempt started
   * @param rttNanos   its latency to first token (stream) or to its answer, or -1 for no sample
   * @param dropped    it failed in a way that signals overload (timeout, 429, 5xx)
   * @param heldNanos  how long the slot was held
   */
  public void release(long startNanos, long rttNanos, boolean dropped, long heldNanos) {
    releaseQuietly(startNanos, rttNanos, dropped, heldNanos);
    onFree.run();
  }

  /**
   * Gives a slot back without waking the queue yet: a failed attempt's own request decides first
   * whether to retry (and may take the slot), then calls {@link #wake}.
   */
  public void releaseQuietly(long startNanos, long rttNanos, boolean dropped, long heldNanos) {
    int before = inFlight.getAndDecrement();
    if (rttNanos >= 0 && !(dropped && dropsIgnored)) {
      limit.onSample(startNanos, Math.max(1, rttNanos), before, dropped);
    }
    if (heldNanos > 0) {
      holdNanos = holdNanos * 0.9 + heldNanos * 0.1;
    }
  }

  /** Lets waiting requests have a slot that may have freed. */
  public void wake() {
    onFree.run();
  }

  public double meanHoldNanos() {
    return holdNanos;
  }
}
