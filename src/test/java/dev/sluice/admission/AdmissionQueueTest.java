package dev.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The queue's decisions on a fake clock with fake slots: who goes next (priority shares, earliest
 * deadline within a priority), who is refused at once (full, deadline unmeetable) and who leaves.
 */
class AdmissionQueueTest {
  static final Map<String, Double> SHARES = Map.of("high", 0.6, "normal", 0.3, "low", 0.1);

  /** Slots that the test frees by hand; each dispatch takes one. */
  static final class FakeSlots implements AdmissionQueue.Slots {
    int free;
    int limit = 1;
    double holdNanos = 100_000_000; // 100 ms
    int taken;
    int givenBack;

    @Override
    public Object tryTake() {
      if (free == 0) {
        return null;
      }
      free--;
      taken++;
      return "slot";
    }

    @Override
    public void giveBack(Object slot) {
      free++;
      givenBack++;
    }

    @Override
    public int totalLimit() {
      return limit;
    }

    @Override
    public double meanHoldNanos() {
      return holdNanos;
    }
  }

  static final class W implements AdmissionQueue.Waiter {
    final String name;
    final Priority priority;
    final long deadline;
    long service;
    boolean gone;
    final List<W> log;

    W(String name, Priority priority, long deadline, List<W> log) {
      this.name = name;
      this.priority = priority;
      this.deadline = deadline;
      this.log = log;
    }

    @Override
    public Priority priority() {
      return priority;
    }

    @Override
    public long deadlineNanos() {
      return deadline;
    }

    @Override
    public long expectedServiceNanos() {
      return service;
    }

    @Override
    public boolean dispatched(Object slot) {
      if (gone) {
        return false;
      }
      log.add(this);
      return true;
    }

    @Override
    public String toString() {
      return name;
    }
  }

  private final FakeClock clock = new FakeClock();
  private final FakeSlots slots = new FakeSlots();
  private final List<W> dispatched = new ArrayList<>();

  private AdmissionQueue queue(int capacity) {
    return new AdmissionQueue(capacity, SHARES, slots, clock);
  }

  private W waiter(String name, Priority p, long deadline) {
    return new W(name, p, deadline, dispatched);
  }

  private long in(Duration d) {
    return clock.getAsLong() + d.toNanos();
  }

  private void free(AdmissionQueue q, int n) {
    slots.free += n;
    q.dispatch();
  }

  @Test
  void nothingIsDispatchedWithoutASlot() {
    AdmissionQueue q = queue(10);
    assertThat(q.offer(waiter("a", Priority.NORMAL, Long.MAX_VALUE))).isNull();
    q.dispatch();
    assertThat(dispatched).isEmpty();
    assertThat(q.size()).isEqualTo(1);
    free(q, 1);
    assertThat(dispatched).extracting(w -> w.name).containsExactly("a");
    assertThat(q.size()).isZero();
    assertThat(slots.free).isZero();
  }

  @Test
  void highGoesFirstWhenEveryClassWaits() {
    AdmissionQueue q = queue(10);
    q.offer(waiter("low", Priority.LOW, Long.MAX_VALUE));
    q.offer(waiter("normal", Priority.NORMAL, Long.MAX_VALUE));
    q.offer(waiter("high", Priority.HIGH, Long.MAX_VALUE));
    free(q, 1);
    assertThat(dispatched).extracting(w -> w.name).containsExactly("high");
    free(q, 2);
    assertThat(dispatched).extracting(w -> w.name).containsExactly("high", "normal", "low");
  }

  @Test
  void earliestDeadlineFirstWithinAPriorityThenArrivalOrder() {
    AdmissionQueue q = queue(10);
    q.offer(waiter("none", Priority.NORMAL, Long.MAX_VALUE));
    q.offer(waiter("300", Priority.NORMAL, in(Duration.ofSeconds(300))));
    q.offer(waiter("100", Priority.NORMAL, in(Duration.ofSeconds(100))));
    q.offer(waiter("200a", Priority.NORMAL, in(Duration.ofSeconds(200))));
    q.offer(waiter("200b", Priority.NORMAL, in(Duration.ofSeconds(200))));
    assertThat(q.snapshot()).extracting(w -> ((W) w).name).containsExactly("100", "200a", "200b", "300", "none");
    free(q, 5);
    assertThat(dispatched).extracting(w -> w.name).containsExactly("100", "200a", "200b", "300", "none");
  }

  /** Every class always has work waiting: each gets its guaranteed share of dispatches. */
  @Test
  void sustainedLoadFromEveryClassIsServedByShares() {
    AdmissionQueue q = queue(1000);
    Map<Priority, Integer> count = new EnumMap<>(Priority.class);
    List<Integer> lowAt = new ArrayList<>();
    for (Priority p : Priority.values()) {
      for (int i = 0; i < 20; i++) {
        q.offer(waiter(p.label(), p, Long.MAX_VALUE));
      }
    }
    for (int i = 0; i < 1000; i++) {
      free(q, 1);
      W w = dispatched.get(dispatched.size() - 1);
      count.merge(w.priority, 1, Integer::sum);
      if (w.priority == Priority.LOW) {
        lowAt.add(i);
      }
      q.offer(waiter(w.priority.label(), w.priority, Long.MAX_VALUE)); // the flood goes on
    }
    assertThat(count.get(Priority.HIGH)).isBetween(570, 630);
    assertThat(count.get(Priority.NORMAL)).isBetween(270, 330);
    assertThat(count.get(Priority.LOW)).isBetween(80, 120);
    int longestGap = lowAt.get(0);
    for (int i = 1; i < lowAt.size(); i++) {
      longestGap = Math.max(longestGap, lowAt.get(i) - lowAt.get(i - 1));
    }
    assertThat(longestGap).as("low is never starved: it goes at least once in every dozen").isLessThanOrEqualTo(12);
  }

  @Test
  void highCannotTakeEverythingFromNormal() {
    AdmissionQueue q = queue(1000);
    Map<Priority, Integer> count = new EnumMap<>(Priority.class);
    for (int i = 0; i < 50; i++) {
      q.offer(waiter("h", Priority.HIGH, Long.MAX_VALUE));
      q.offer(waiter("n", Priority.NORMAL, Long.MAX_VALUE));
    }
    for (int i = 0; i < 300; i++) {
      free(q, 1);
      Priority p = dispatched.get(dispatched.size() - 1).priority;
      count.merge(p, 1, Integer::sum);
      q.offer(waiter(p.label(), p, Long.MAX_VALUE));
    }
    // 0.6 : 0.3 between the two classes that wait = 2/3 : 1/3
    assertThat(count.get(Priority.NORMAL)).isBetween(90, 110);
  }

  @Test
  void aLoneClassGetsEverySlot() {
    AdmissionQueue q = queue(1000);
    for (int i = 0; i < 100; i++) {
      q.offer(waiter("l", Priority.LOW, Long.MAX_VALUE));
    }
    free(q, 100);
    assertThat(dispatched).hasSize(100);
  }

  /**
   * A class that was idle while another had every slot must not, on arriving, take every slot until
   * its share of all past dispatches is made up: that would starve the class that was busy.
   */
  @Test
  void aClassArrivingAfterAnotherWasAloneDoesNotStarveIt() {
    AdmissionQueue q = queue(1000);
    for (int i = 0; i < 900; i++) {
      q.offer(waiter("h", Priority.HIGH, Long.MAX_VALUE));
    }
    free(q, 900); // high alone for a while
    dispatched.clear();
    for (int i = 0; i < 100; i++) {
      q.offer(waiter("h", Priority.HIGH, Long.MAX_VALUE));
      q.offer(waiter("l", Priority.LOW, Long.MAX_VALUE));
    }
    for (int i = 0; i < 50; i++) {
      free(q, 1);
    }
    long high = dispatched.stream().filter(w -> w.priority == Priority.HIGH).count();
    assertThat(high).as("high keeps (about) its 6 in 7 when low arrives").isGreaterThanOrEqualTo(38);
  }

  @Test
  void aFullQueueRefusesAtOnce() {
    AdmissionQueue q = queue(2);
    assertThat(q.offer(waiter("a", Priority.NORMAL, Long.MAX_VALUE))).isNull();
    assertThat(q.offer(waiter("b", Priority.HIGH, Long.MAX_VALUE))).isNull();
    assertThat(q.offer(waiter("c", Priority.HIGH, Long.MAX_VALUE))).isEqualTo(AdmissionQueue.Refusal.QUEUE_FULL);
    assertThat(q.size()).isEqualTo(2);
    free(q, 1);
    assertThat(q.offer(waiter("d", Priority.LOW, Long.MAX_VALUE))).isNull();
    assertThat(queue(0).offer(waiter("e", Priority.HIGH, Long.MAX_VALUE))).isEqualTo(AdmissionQueue.Refusal.QUEUE_FULL);
  }

  @Test
  void aDeadlineThatTheQueueAheadMakesUnmeetableIsRefusedAtOnce() {
    AdmissionQueue q = queue(10); // one slot, held 100 ms on average
    assertThat(q.offer(waiter("first", Priority.NORMAL, in(Duration.ofMillis(150))))).isNull();
    // one ahead: wait for 2 slot turns = 200 ms > 150 ms
    W second = waiter("second", Priority.NORMAL, in(Duration.ofMillis(150)));
    assertThat(q.estimatedWaitNanos(second)).isEqualTo(200_000_000L);
    assertThat(q.offer(second)).isEqualTo(AdmissionQueue.Refusal.DEADLINE_UNMEETABLE);
    assertThat(q.offer(waiter("later", Priority.NORMAL, in(Duration.ofMillis(250))))).isNull();
    assertThat(q.offer(waiter("no deadline", Priority.NORMAL, Long.MAX_VALUE))).as("never unmeetable").isNull();
    assertThat(q.size()).isEqualTo(3);
  }

  @Test
  void anEarlierDeadlineDoesNotCountTheLaterOnesAsAhead() {
    AdmissionQueue q = queue(10);
    q.offer(waiter("late1", Priority.NORMAL, in(Duration.ofSeconds(10))));
    q.offer(waiter("late2", Priority.NORMAL, in(Duration.ofSeconds(10))));
    assertThat(q.offer(waiter("urgent", Priority.NORMAL, in(Duration.ofMillis(150))))).isNull();
  }

  @Test
  void theRequestsOwnServiceTimeCounts() {
    AdmissionQueue q = queue(10);
    W w = waiter("w", Priority.NORMAL, in(Duration.ofMillis(150)));
    w.service = Duration.ofMillis(60).toNanos(); // 100 ms wait + 60 ms service > 150 ms
    assertThat(q.offer(w)).isEqualTo(AdmissionQueue.Refusal.DEADLINE_UNMEETABLE);
    w.service = Duration.ofMillis(40).toNanos();
    assertThat(q.offer(w)).isNull();
  }

  @Test
  void theEstimateFollowsTheClockHoldTimeLimitAndOtherClasses() {
    AdmissionQueue q = queue(10);
    W low = waiter("low", Priority.LOW, in(Duration.ofSeconds(1)));
    assertThat(q.estimatedWaitNanos(low)).isEqualTo(100_000_000L);
    q.offer(waiter("high", Priority.HIGH, Long.MAX_VALUE));
    // with high waiting, low gets 0.1 / 0.7 of the dispatches: 7 turns
    assertThat(q.estimatedWaitNanos(low)).isBetween(699_000_000L, 701_000_000L);
    slots.limit = 7;
    assertThat(q.estimatedWaitNanos(low)).isBetween(99_000_000L, 101_000_000L);
    slots.holdNanos = 1.2e9;
    assertThat(q.estimatedWaitNanos(low)).isBetween(1_199_000_000L, 1_201_000_000L);
    assertThat(q.offer(low)).isEqualTo(AdmissionQueue.Refusal.DEADLINE_UNMEETABLE);
    clock.advance(Duration.ofMillis(500)); // time passes: the same deadline is nearer
    slots.holdNanos = 1e8;
    W low2 = waiter("low2", Priority.LOW, low.deadline);
    assertThat(q.offer(low2)).as("100 ms of wait fits the 500 ms left").isNull();
    clock.advance(Duration.ofMillis(450));
    assertThat(q.offer(waiter("low3", Priority.LOW, low.deadline))).isEqualTo(AdmissionQueue.Refusal.DEADLINE_UNMEETABLE);
  }

  @Test
  void aRemovedWaiterIsNeverDispatched() {
    AdmissionQueue q = queue(10);
    W a = waiter("a", Priority.NORMAL, Long.MAX_VALUE);
    W b = waiter("b", Priority.NORMAL, Long.MAX_VALUE);
    q.offer(a);
    q.offer(b);
    assertThat(q.remove(a)).isTrue();
    assertThat(q.remove(a)).as("only once").isFalse();
    assertThat(q.size()).isEqualTo(1);
    assertThat(q.size(Priority.NORMAL)).isEqualTo(1);
    free(q, 2);
    assertThat(dispatched).containsExactly(b);
    assertThat(slots.free).as("the unused slot stays free").isEqualTo(1);
  }

  @Test
  void aWaiterGoneAtDispatchGivesItsSlotToTheNext() {
    AdmissionQueue q = queue(10);
    W a = waiter("a", Priority.NORMAL, in(Duration.ofSeconds(1)));
    W b = waiter("b", Priority.NORMAL, in(Duration.ofSeconds(2)));
    q.offer(a);
    q.offer(b);
    a.gone = true;
    free(q, 1);
    assertThat(dispatched).containsExactly(b);
    assertThat(slots.givenBack).isEqualTo(1);
    assertThat(slots.free).isZero();
    assertThat(q.size()).isZero();
  }

  @org.junit.jupiter.api.Test
  void aMaxWaitRefusesWhatWouldWaitLongerThanIt() {
    // one slot, held 100 ms on average: the n-th normal request in line expects (n / share) * 100 ms
    AdmissionQueue q = queue(100).withMaxWait(250_000_000L);
    long far = Long.MAX_VALUE;
    assertThat(q.offer(waiter("a", Priority.NORMAL, far))).isNull();  // alone: ~100 ms
    assertThat(q.offer(waiter("b", Priority.NORMAL, far))).isNull();  // ~200 ms
    assertThat(q.offer(waiter("c", Priority.NORMAL, far))).isEqualTo(AdmissionQueue.Refusal.QUEUE_FULL); // ~300 ms
    assertThat(q.size()).isEqualTo(2);
  }

  @org.junit.jupiter.api.Test
  void autoMaxWaitIsHalfTheMeanHoldAndUnboundedIsTheDefault() {
    assertThat(queue(100).maxWaitNanos()).isEqualTo(AdmissionQueue.UNBOUNDED);
    AdmissionQueue q = queue(100).withMaxWait(AdmissionQueue.AUTO);
    assertThat(q.maxWaitNanos()).isEqualTo(50_000_000L);
    slots.holdNanos = 1_000_000; // 1 ms: the floor holds
    assertThat(q.maxWaitNanos()).isEqualTo(10_000_000L);
  }
}
