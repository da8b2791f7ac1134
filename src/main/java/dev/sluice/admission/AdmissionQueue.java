package dev.sluice.admission;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.LongSupplier;

/**
 * Requests of one model waiting for a deployment's concurrency: bounded, by priority, earliest
 * deadline first within a priority. Priorities get guaranteed shares of dispatches (the class
 * furthest below its share goes next), so low cannot starve and high cannot take everything. A
 * request whose deadline cannot be met given the queue ahead is refused at once, not after waiting.
 *
 * <p>Shared by event loops; all state changes are under the queue's lock. Dispatch hands a waiter a
 * slot already taken for it; the waiter moves to its own event loop to use it.
 */
public final class AdmissionQueue {
  /** A queued request. */
  public interface Waiter {
    Priority priority();

    long deadlineNanos();

    /** The time a request needs once started (its model's typical first byte or token). */
    long expectedServiceNanos();

    /**
     * Called with a slot taken for it on {@code slot}'s deployment; returns false when the waiter
     * is gone, and then the caller gives the slot back.
     */
    boolean dispatched(Object slot);
  }

  /** Takes a slot on one of the model's deployments for a dispatch; null when none is free. */
  public interface Slots {
    Object tryTake();

    void giveBack(Object slot);

    /** Sum of the deployments' limits, and their mean slot hold time, for wait estimates. */
    int totalLimit();

    double meanHoldNanos();
  }

  /** Why a request could not be queued. */
  public enum Refusal { QUEUE_FULL, DEADLINE_UNMEETABLE }

  private record Entry(Waiter w, long seq) {}

  private final int capacity;
  private final Map<Priority, Double> shares = new EnumMap<>(Priority.class);
  private final Map<Priority, PriorityQueue<Entry>> classes = new EnumMap<>(Priority.class);
  private final Map<Priority, Double> served = new EnumMap<>(Priority.class);
  private final LongSupplier clock;
  private final Slots slots;
  /** Dispatches per share of the class served last: where a class that was idle rejoins. */
  private double virtualTime;
  private long seq;
  private int size;

  /** {@link #withMaxWait}: no bound on the expected wait (only size and deadline). */
  public static final long UNBOUNDED = Long.MAX_VALUE;
  /** {@link #withMaxWait}: half the mean slot hold time, at least 10 ms. */
  public static final long AUTO = -1;

  /**
   * The longest wait a request may expect in the queue: unbounded (the default), fixed, or auto —
   * half the time a slot is held on average, with a floor of 10 ms: under sustained overload a
   * queue that holds requests longer than that only adds latency to what it admits.
   */
  public long maxWaitNanos() {
    return maxWait != AUTO ? maxWait : Math.max(10_000_000L, (long) (slots.meanHoldNanos() * 0.5));
  }

  private long maxWait = UNBOUNDED;

  public AdmissionQueue withMaxWait(long nanos) {
    this.maxWait = nanos;
    return this;
  }

  public AdmissionQueue(int capacity, Map<String, Double> shares, Slots slots, LongSupplier clock) {
    this.capacity = capacity;
    this.slots = slots;
    this.clock = clock;
    for (Priority p : Priority.values()) {
      this.shares.put(p, Math.max(1e-6, shares.getOrDefault(p.label(), 0.0)));
      this.classes.put(p, new PriorityQueue<>(Comparator.comparingLong((Entry e) -> e.w().deadlineNanos())
          .thenComparingLong(Entry::seq)));
      this.served.put(p, 0.0);
    }
  }

  /** Queues {@code w}, or says why not. Null means queued. */
  public synchronized Refusal offer(Waiter w) {
    if (size >= capacity) {
      return Refusal.QUEUE_FULL;
    }
    long wait = estimatedWaitNanos(w);
    if (wait > maxWaitNanos()) {
      // waiting this long would make the request slow even if it made its deadline: under overload,
      // serve what fits at good latency and refuse the rest at once
      return Refusal.QUEUE_FULL;
    }
    if (w.deadlineNanos() != Long.MAX_VALUE
        && clock.getAsLong() + wait + w.expectedServiceNanos() > w.deadlineNanos()) {
      return Refusal.DEADLINE_UNMEETABLE;
    }
    Priority p = w.priority();
    if (classes.get(p).isEmpty()) {
      // an idle class rejoins at the current pace: being idle earns it no credit to take every slot with
      served.put(p, Math.max(served.get(p), virtualTime * shares.get(p)));
    }
    classes.get(p).add(new Entry(w, seq++));
    size++;
    return null;
  }

  /**
   * How long {@code w} would wait: the requests that go before it (its class's earlier deadlines,
   * and the other classes' shares of dispatches in the meantime), each needing a slot, at the pace
   * the deployments free slots.
   */
  public synchronized long estimatedWaitNanos(Waiter w) {
    int ahead = 0;
    for (Entry e : classes.get(w.priority())) {
      if (e.w().deadlineNanos() <= w.deadlineNanos()) {
        ahead++;
      }
    }
    double share = shares.get(w.priority()) / totalShareOfNonEmpty(w.priority());
    double slotsBefore = (ahead + 1) / share;
    int limit = Math.max(1, slots.totalLimit());
    return (long) (slotsBefore / limit * slots.meanHoldNanos());
  }

  private double totalShareOfNonEmpty(Priority including) {
    double t = 0;
    for (Priority p : Priority.values()) {
      if (p == including || !classes.get(p).isEmpty()) {
        t += shares.get(p);
      }
    }
    return t;
  }

  /** A queued request left (client gone, deadline passed). */
  public synchronized boolean remove(Waiter w) {
    for (PriorityQueue<Entry> q : classes.values()) {
      if (q.removeIf(e -> e.w() == w)) {
        size--;
        return true;
      }
    }
    return false;
  }

  public synchronized int size() {
    return size;
  }

  public synchronized int size(Priority p) {
    return classes.get(p).size();
  }

  /** Starts as many waiting requests as there are free slots. Called when a slot may have freed. */
  public void dispatch() {
    while (true) {
      Object slot;
      Waiter w;
      synchronized (this) {
        if (size == 0) {
          return;
        }
        slot = slots.tryTake();
        if (slot == null) {
          return;
        }
        Priority p = next();
        virtualTime = served.get(p) / shares.get(p);
        Entry e = classes.get(p).poll();
        size--;
        served.put(p, served.get(p) + 1);
        decay();
        w = e.w();
      }
      // outside the lock: the waiter only schedules work on its own event loop
      if (!w.dispatched(slot)) {
        slots.giveBack(slot);
      }
    }
  }

  /** The non-empty class furthest below its share. */
  private Priority next() {
    Priority best = null;
    double bestRatio = Double.MAX_VALUE;
    for (Priority p : Priority.values()) {
      if (classes.get(p).isEmpty()) {
        continue;
      }
      double ratio = served.get(p) / shares.get(p);
      if (ratio < bestRatio) {
        bestRatio = ratio;
        best = p;
      }
    }
    return best;
  }

  /** Old dispatches count less and less, so shares follow recent traffic. */
  private void decay() {
    double total = 0;
    for (double v : served.values()) {
      total += v;
    }
    if (total > 1000) {
      for (Priority p : Priority.values()) {
        served.put(p, served.get(p) / 2);
      }
      virtualTime /= 2;
    }
  }

  /** Waiters in dispatch order (for tests and status). */
  public synchronized List<Waiter> snapshot() {
    List<Waiter> out = new ArrayList<>();
    for (Priority p : Priority.values()) {
      classes.get(p).stream().sorted(classes.get(p).comparator()).forEach(e -> out.add(e.w()));
    }
    return out;
  }
}
