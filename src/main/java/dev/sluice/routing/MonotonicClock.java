package dev.sluice.routing;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.function.LongSupplier;

/**
 * A {@link java.time.Clock} over the gateway's monotonic nanosecond clock, for libraries that take a
 * Clock (Resilience4j's breaker): tests that move the fake clock move the breaker's time too.
 */
final class MonotonicClock extends Clock {
  private final LongSupplier nanos;

  MonotonicClock(LongSupplier nanos) {
    this.nanos = nanos;
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }

  @Override
  public Instant instant() {
    long n = nanos.getAsLong();
    return Instant.ofEpochSecond(Math.floorDiv(n, 1_000_000_000L), Math.floorMod(n, 1_000_000_000L));
  }
}
