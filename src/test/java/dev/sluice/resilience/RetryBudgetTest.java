package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ResilienceConfig;
import dev.sluice.testing.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RetryBudgetTest {
  private final FakeClock clock = new FakeClock();

  private RetryBudget budget(double ratio, double minPerSecond, Duration window) {
    return new RetryBudget(new ResilienceConfig.Budget(ratio, minPerSecond, window), clock);
  }

  private static void requests(RetryBudget b, int n) {
    for (int i = 0; i < n; i++) {
      b.onRequest();
    }
  }

  /** Takes retries until the budget refuses; returns how many it gave. */
  private static int drain(RetryBudget b) {
    int n = 0;
    while (b.tryRetry()) {
      n++;
      if (n > 1_000_000) {
        throw new AssertionError("the budget never refuses");
      }
    }
    return n;
  }

  @Test
  void retriesAreAShareOfRecentRequests() {
    RetryBudget b = budget(0.1, 0, Duration.ofSeconds(10));
    requests(b, 100);
    assertThat(drain(b)).isEqualTo(10);
    assertThat(b.retriesInWindow()).isEqualTo(10);
    requests(b, 30);
    assertThat(drain(b)).isEqualTo(3);
    assertThat(b.tryRetry()).isFalse();
  }

  @Test
  void withoutTrafficAndWithoutFloorNothingMayRetry() {
    RetryBudget b = budget(0.1, 0, Duration.ofSeconds(10));
    assertThat(b.tryRetry()).isFalse();
    requests(b, 9); // 0.9 of a retry is not a retry
    assertThat(b.tryRetry()).isFalse();
    b.onRequest();
    assertThat(b.tryRetry()).isTrue();
    assertThat(b.tryRetry()).isFalse();
  }

  @Test
  void theFloorLetsLowTrafficRetry() {
    // 1 per second over 10 s: 10 retries even with no requests at all
    RetryBudget b = budget(0.1, 1, Duration.ofSeconds(10));
    assertThat(drain(b)).isEqualTo(10);
  }

  @Test
  void theLargerOfRatioAndFloorApplies() {
    RetryBudget b = budget(0.1, 1, Duration.ofSeconds(10));
    requests(b, 50); // ratio says 5, floor says 10
    assertThat(drain(b)).isEqualTo(10);
    requests(b, 150); // 200 requests: ratio says 20
    assertThat(drain(b)).isEqualTo(10);
    assertThat(b.retriesInWindow()).isEqualTo(20);
  }

  @Test
  void aRefundGivesARetryBack() {
    RetryBudget b = budget(0.1, 0, Duration.ofSeconds(10));
    requests(b, 20);
    assertThat(drain(b)).isEqualTo(2);
    b.refund();
    assertThat(b.retriesInWindow()).isEqualTo(1);
    assertThat(b.tryRetry()).isTrue();
    assertThat(b.tryRetry()).isFalse();
  }

  @Test
  void aRefundWithNothingTakenDoesNotCreateCredit() {
    RetryBudget b = budget(0.1, 0, Duration.ofSeconds(10));
    requests(b, 10);
    b.refund();
    b.refund();
    assertThat(b.retriesInWindow()).isZero();
    assertThat(drain(b)).isEqualTo(1);
  }

  @Test
  void spentRetriesAndOldRequestsLeaveTheWindowAfterItsLength() {
    RetryBudget b = budget(0.1, 0, Duration.ofSeconds(10));
    requests(b, 100);
    assertThat(drain(b)).isEqualTo(10);
    clock.advance(Duration.ofMillis(9_900));
    assertThat(b.tryRetry()).as("still within the window").isFalse();
    assertThat(b.retriesInWindow()).isEqualTo(10);
    clock.advance(Duration.ofMillis(200));
    assertThat(b.retriesInWindow()).as("the whole window rolled over").isZero();
    assertThat(b.tryRetry()).as("the requests left too").isFalse();
    requests(b, 10);
    assertThat(b.tryRetry()).isTrue();
  }

  @Test
  void oldTrafficLeavesGraduallyBucketByBucket() {
    RetryBudget b = budget(0.1, 0, Duration.ofSeconds(10));
    // 10 requests in each second for 10 seconds: 100 in the window
    for (int s = 0; s < 10; s++) {
      requests(b, 10);
      clock.advance(Duration.ofSeconds(1));
    }
    // now 10 s after the first second began: its bucket is gone, 90 requests remain
    assertThat(drain(b)).isEqualTo(9);
    clock.advance(Duration.ofSeconds(5));
    // five more seconds of traffic left; the 9 retries (taken in the newest second) remain
    assertThat(b.tryRetry()).isFalse();
    requests(b, 50); // 40 old + 50 new = 90: still 9
    assertThat(b.tryRetry()).isFalse();
    requests(b, 10);
    assertThat(b.tryRetry()).isTrue();
  }

  @Test
  void aLongPauseForgetsEverythingWithoutWalkingEveryBucket() {
    RetryBudget b = budget(0.1, 0, Duration.ofSeconds(10));
    requests(b, 1000);
    assertThat(drain(b)).isEqualTo(100);
    clock.advance(Duration.ofDays(365));
    assertThat(b.retriesInWindow()).isZero();
    assertThat(b.tryRetry()).isFalse();
    requests(b, 10);
    assertThat(drain(b)).isEqualTo(1);
  }

  @Test
  void concurrentCallersNeverExceedTheBudget() throws Exception {
    RetryBudget b = new RetryBudget(new ResilienceConfig.Budget(0.1, 0, Duration.ofSeconds(10)), System::nanoTime);
    requests(b, 10_000);
    AtomicInteger granted = new AtomicInteger();
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      Thread th = new Thread(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < 1000; i++) {
          if (b.tryRetry()) {
            granted.incrementAndGet();
          }
        }
      });
      th.start();
      threads.add(th);
    }
    go.countDown();
    for (Thread th : threads) {
      th.join();
    }
    assertThat(granted.get()).isEqualTo(1000);
  }
}
