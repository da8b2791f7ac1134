package dev.sluice.deadline;

import java.util.function.LongSupplier;

/**
 * The one deadline of a request: an absolute instant on a monotonic clock, fixed at the edge and
 * read by every later stage (DESIGN.md 2.1).
 */
public final class Deadline {
  /** Where the binding limit came from; tells clients and records why a request ended when it did. */
  public enum Source { CLIENT_HEADER, CLIENT_BODY, TIER, CAP, NONE }

  private final LongSupplier clock;
  private final long startNanos;
  private final long atNanos;
  private final long budgetNanos;
  private final Source source;

  private Deadline(LongSupplier clock, long startNanos, long budgetNanos, Source source) {
    this.clock = clock;
    this.startNanos = startNanos;
    this.budgetNanos = budgetNanos;
    this.atNanos = budgetNanos == Long.MAX_VALUE ? Long.MAX_VALUE : startNanos + budgetNanos;
    this.source = source;
  }

  public static Deadline after(LongSupplier clock, long startNanos, long budgetNanos, Source source) {
    return new Deadline(clock, startNanos, budgetNanos, source);
  }

  public static Deadline none(LongSupplier clock, long startNanos) {
    return new Deadline(clock, startNanos, Long.MAX_VALUE, Source.NONE);
  }

  public boolean bounded() {
    return atNanos != Long.MAX_VALUE;
  }

  /** Nanoseconds left; {@code Long.MAX_VALUE} when unbounded, never negative. */
  public long remainingNanos() {
    if (!bounded()) {
      return Long.MAX_VALUE;
    }
    return Math.max(0, atNanos - clock.getAsLong());
  }

  public boolean expired() {
    return bounded() && clock.getAsLong() >= atNanos;
  }

  public long startNanos() {
    return startNanos;
  }

  public long atNanos() {
    return atNanos;
  }

  public long budgetNanos() {
    return budgetNanos;
  }

  public Source source() {
    return source;
  }

  public LongSupplier clock() {
    return clock;
  }

  @Override
  public String toString() {
    return bounded() ? "Deadline[" + budgetNanos / 1_000_000 + "ms from " + source + "]" : "Deadline[none]";
  }
}
