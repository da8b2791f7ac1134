package dev.sluice.testing;

import java.time.Duration;
import java.util.function.LongSupplier;

/** A monotonic clock that moves only when a test says so. */
public final class FakeClock implements LongSupplier {
  private long now = 1_000_000_000L;

  @Override
  public long getAsLong() {
    return now;
  }

  public void advance(Duration d) {
    now += d.toNanos();
  }

  public void advanceNanos(long n) {
    now += n;
  }
}
