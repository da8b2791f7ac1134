package dev.sluice.deadline;

import dev.sluice.config.DeadlineConfig;
import java.util.function.LongSupplier;

/**
 * Fixes a request's deadline as the earliest of the client's budget (header or body), its tier's
 * deadline and the gateway cap. With {@code deadline.skip} the tier and cap are lifted and only a
 * client's own budget still binds.
 */
public final class DeadlinePolicy {
  /** Route tiers (DESIGN.md 2.3). */
  public enum Tier { INFO, INFERENCE, INFERENCE_STREAM, FILES, WORKFLOWS }

  private final DeadlineConfig config;
  private final LongSupplier clock;

  public DeadlinePolicy(DeadlineConfig config, LongSupplier clock) {
    this.config = config;
    this.clock = clock;
  }

  public LongSupplier clock() {
    return clock;
  }

  public boolean skip() {
    return config.skip();
  }

  public long tierNanos(Tier tier) {
    return switch (tier) {
      case INFO -> config.info().toNanos();
      case INFERENCE -> config.inference().toNanos();
      case INFERENCE_STREAM -> config.inferenceStream().toNanos();
      case FILES -> config.files().toNanos();
      case WORKFLOWS -> config.workflows().toNanos();
    };
  }

  /**
   * @param startNanos     when the request arrived
   * @param headerBudget   from {@code X-Request-Timeout}/{@code grpc-timeout}, or -1
   * @param bodyBudget     from the body's {@code timeout} field, or -1
   */
  public Deadline resolve(long startNanos, Tier tier, long headerBudget, long bodyBudget) {
    long best = Long.MAX_VALUE;
    Deadline.Source source = Deadline.Source.NONE;
    if (!config.skip()) {
      best = config.cap().toNanos();
      source = Deadline.Source.CAP;
      long t = tierNanos(tier);
      if (t < best) {
        best = t;
        source = Deadline.Source.TIER;
      }
    }
    if (headerBudget > 0 && headerBudget < best) {
      best = headerBudget;
      source = Deadline.Source.CLIENT_HEADER;
    }
    if (bodyBudget > 0 && bodyBudget < best) {
      best = bodyBudget;
      source = Deadline.Source.CLIENT_BODY;
    }
    // a budget so long that start + budget leaves the range of the clock is no deadline at all;
    // computing the instant would wrap into the past and expire the request at once
    boolean representable = startNanos <= 0 || best <= Long.MAX_VALUE - startNanos;
    return source == Deadline.Source.NONE || !representable
        ? Deadline.none(clock, startNanos)
        : Deadline.after(clock, startNanos, best, source);
  }
}
