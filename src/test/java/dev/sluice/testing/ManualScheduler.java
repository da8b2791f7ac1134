package dev.sluice.testing;

import dev.sluice.deadline.Scheduler;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * A scheduler driven by a {@link FakeClock}: {@link #advance} moves time forward and runs every
 * timer that falls due, in order, including timers armed by timers.
 */
public final class ManualScheduler implements Scheduler {
  private record Task(long id, long atNanos, Runnable run) {}

  private final FakeClock clock;
  private final PriorityQueue<Task> queue = new PriorityQueue<>(
      Comparator.comparingLong(Task::atNanos).thenComparingLong(Task::id));
  private final Map<Long, Task> pending = new HashMap<>();
  private long nextId = 1;

  public ManualScheduler(FakeClock clock) {
    this.clock = clock;
  }

  @Override
  public long schedule(long delayNanos, Runnable task) {
    Task t = new Task(nextId++, clock.getAsLong() + Math.max(0, delayNanos), task);
    queue.add(t);
    pending.put(t.id(), t);
    return t.id();
  }

  @Override
  public boolean cancel(long handle) {
    Task t = pending.remove(handle);
    if (t == null) {
      return false;
    }
    queue.remove(t);
    return true;
  }

  /** Moves the clock forward by {@code d}, running due timers at their own instants. */
  public void advance(Duration d) {
    long target = clock.getAsLong() + d.toNanos();
    while (!queue.isEmpty() && queue.peek().atNanos() <= target) {
      Task t = queue.poll();
      pending.remove(t.id());
      clock.advanceNanos(t.atNanos() - clock.getAsLong());
      t.run().run();
    }
    clock.advanceNanos(target - clock.getAsLong());
  }

  /** Timers armed and not yet run or cancelled. */
  public int armed() {
    return pending.size();
  }
}
