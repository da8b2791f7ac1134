package dev.sluice.bench;

import java.util.concurrent.atomic.AtomicLong;

/** What the progress display reads while lanes run on their event loops. */
public final class LiveCounters {
  final AtomicLong finished = new AtomicLong();
  final AtomicLong inFlight = new AtomicLong();
  final AtomicLong failed = new AtomicLong();

  public long finished() {
    return finished.get();
  }

  public long inFlight() {
    return inFlight.get();
  }

  public long failed() {
    return failed.get();
  }
}
