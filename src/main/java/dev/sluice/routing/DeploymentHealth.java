package dev.sluice.routing;

import dev.sluice.config.ResilienceConfig;
import dev.sluice.resilience.RetryBudget;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What is known about one deployment's health, shared by all event loops: its circuit breaker,
 * its 429 cooldown, its quota headroom, its recent first-byte and first-token latencies, its
 * latency estimate for routing, and its retry budget.
 */
public final class DeploymentHealth {
  private static final Logger LOG = LoggerFactory.getLogger(DeploymentHealth.class);

  /** Told of breaker state changes (for logs, metrics, dashboards). */
  public interface Listener {
    void onBreakerTransition(String deployment, String from, String to);
  }

  private final String id;
  private final LongSupplier clock;
  private final CircuitBreaker breaker;
  private final QuotaState quota;
  private final LatencyWindow firstByte = new LatencyWindow();
  private final LatencyWindow firstToken = new LatencyWindow();
  private final PeakEwma ewma;
  private final RetryBudget budget;
  private volatile long cooldownUntilNanos;
  static final long MAX_COOLDOWN_NANOS = 300_000_000_000L;
  private final long openForNanos;
  private volatile long openUntilNanos;

  public DeploymentHealth(String id, ResilienceConfig config, LongSupplier clock, Listener listener) {
    this.id = id;
    this.clock = clock;
    this.quota = new QuotaState(clock);
    this.ewma = new PeakEwma(10_000_000_000L, 100_000_000L, clock);
    this.budget = new RetryBudget(config.budget(), clock);
    ResilienceConfig.Breaker b = config.breaker();
    this.openForNanos = b.openFor().toNanos();
    if (b.enabled()) {
      CircuitBreakerConfig cbc = CircuitBreakerConfig.custom()
          .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
          .slidingWindowSize(b.window())
          .minimumNumberOfCalls(Math.min(b.minimumCalls(), b.window()))
          .failureRateThreshold(b.failureRate())
          .slowCallRateThreshold(b.slowCallRate())
          .slowCallDurationThreshold(b.slowCallDuration())
          .waitDurationInOpenState(b.openFor())
          .permittedNumberOfCallsInHalfOpenState(b.halfOpenCalls())
          .writableStackTraceEnabled(false)
          .clock(new MonotonicClock(clock))
          .build();
      this.breaker = CircuitBreaker.of(id, cbc);
      breaker.getEventPublisher().onStateTransition(e -> {
        if (e.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
          openUntilNanos = clock.getAsLong() + openForNanos;
        }
        String from = e.getStateTransition().getFromState().name().toLowerCase(java.util.Locale.ROOT);
        String to = e.getStateTransition().getToState().name().toLowerCase(java.util.Locale.ROOT);
        LOG.info("breaker of deployment {}: {} -> {}", id, from, to);
        if (listener != null) {
          listener.onBreakerTransition(id, from, to);
        }
      });
    } else {
      this.breaker = null;
    }
  }

  public String id() {
    return id;
  }

  // ---- availability ------------------------------------------------------------------------

  /** In cooldown after a 429, or its quota headers say it is spent. */
  public boolean resting() {
    return clock.getAsLong() < cooldownUntilNanos || quota.exhausted();
  }

  /**
   * The breaker would refuse a call now (without taking a permit). Resilience4j leaves OPEN only
   * when it is asked for a permit after {@code open_for}; until then its state reads OPEN however
   * long ago it opened. So an open breaker whose {@code open_for} has passed is not "open" here:
   * routing must ask it for a permit, which moves it to half-open and lets its probes through.
   */
  public boolean breakerOpen() {
    if (breaker == null) {
      return false;
    }
    CircuitBreaker.State s = breaker.getState();
    return s == CircuitBreaker.State.FORCED_OPEN
        || (s == CircuitBreaker.State.OPEN && clock.getAsLong() <= openUntilNanos);
  }

  /** Asks the breaker for a call permit; true when there is no breaker. */
  public boolean tryAcquire() {
    return breaker == null || breaker.tryAcquirePermission();
  }

  public String breakerState() {
    return breaker == null ? "disabled" : breaker.getState().name().toLowerCase(java.util.Locale.ROOT);
  }

  // ---- outcomes ----------------------------------------------------------------------------

  /** The deployment answered; {@code latencyNanos} to its answer or first token. */
  public void onSuccess(long latencyNanos, boolean holdsPermit) {
    if (breaker != null && holdsPermit) {
      breaker.onSuccess(latencyNanos, TimeUnit.NANOSECONDS);
    }
  }

  /** The deployment failed in a way that says something about its health. */
  public void onFailure(long durationNanos, Throwable cause, boolean holdsPermit) {
    if (breaker != null && holdsPermit) {
      breaker.onError(durationNanos, TimeUnit.NANOSECONDS, cause);
    }
  }

  /**
   * A stream that was counted a success at its first token broke afterwards (reset, idle): the
   * breaker counts it as a failed call too, so a deployment that breaks most streams mid-way opens.
   */
  public void lateFailure(long durationNanos, String what) {
    if (breaker != null) {
      breaker.onError(durationNanos, TimeUnit.NANOSECONDS, new IllegalStateException(what));
    }
  }

  /** A permit was taken but the call tells nothing about health (cancelled, client error, 429). */
  public void release(boolean holdsPermit) {
    if (breaker != null && holdsPermit) {
      breaker.releasePermission();
    }
  }

  /** A 429: rest for its Retry-After (at least a second when it gave none). */
  public void coolDown(long nanos) {
    // a provider's Retry-After is believed up to five minutes: a day-long rest is a misconfiguration
    long rest = Math.min(Math.max(nanos, 1_000_000_000L), MAX_COOLDOWN_NANOS);
    long until = clock.getAsLong() + rest;
    if (until > cooldownUntilNanos) {
      cooldownUntilNanos = until;
    }
  }

  public long cooldownRemainingNanos() {
    return Math.max(0, cooldownUntilNanos - clock.getAsLong());
  }

  public QuotaState quota() {
    return quota;
  }

  // ---- latency -----------------------------------------------------------------------------

  public void recordLatency(boolean stream, long nanos) {
    (stream ? firstToken : firstByte).record(nanos);
    ewma.record(nanos);
  }

  public LatencyWindow latency(boolean stream) {
    return stream ? firstToken : firstByte;
  }

  public PeakEwma ewma() {
    return ewma;
  }

  public RetryBudget budget() {
    return budget;
  }
}
