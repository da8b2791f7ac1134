package dev.sluice.provider.sim;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A simulated model's serving capacity: at most {@code slots} answers are generated at once; the
 * rest wait their turn, first come first served, and their wait adds to their time to first token —
 * the way an overloaded inference server slows down instead of refusing.
 */
final class Capacity {
  private final int slots;
  private final AtomicInteger busy = new AtomicInteger();
  private final ConcurrentLinkedQueue<Runnable> waiting = new ConcurrentLinkedQueue<>();

  Capacity(int slots) {
    this.slots = slots;
  }

  /** Runs {@code start} now if a slot is free, or when one frees. */
  void acquire(Runnable start) {
    while (true) {
      int b = busy.get();
      if (b < slots) {
        if (busy.compareAndSet(b, b + 1)) {
          start.run();
          return;
        }
      } else {
        waiting.add(start);
        // a slot may have freed between the check and the add
        drain();
        return;
      }
    }
  }

  void release() {
    busy.decrementAndGet();
    drain();
  }

  private void drain() {
    while (!waiting.isEmpty()) {
      int b = busy.get();
      if (b >= slots) {
        return;
      }
      if (!busy.compareAndSet(b, b + 1)) {
        continue;
      }
      Runnable next = waiting.poll();
      if (next == null) {
        busy.decrementAndGet();
        return;
      }
      next.run();
    }
  }

  int waiting() {
    return waiting.size();
  }

  int busy() {
    return busy.get();
  }
}
