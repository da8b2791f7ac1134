package dev.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.AdmissionConfig;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ConcurrencyLimiterTest {

  @Test
  void slotsNeverExceedTheLimitUnderConcurrentAcquires() throws Exception {
    ConcurrencyLimiter l = new ConcurrencyLimiter(new AdmissionConfig.Limit("fixed", 5, 1, 1000, 1.5), -1);
    assertThat(l.limit()).isEqualTo(5);
    AtomicInteger holding = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    AtomicInteger peakSeenByLimiter = new AtomicInteger();
    AtomicInteger acquired = new AtomicInteger();
    CountDownLatch go = new CountDownLatch(1);
    Thread[] threads = new Thread[8];
    for (int i = 0; i < threads.length; i++) {
      threads[i] = new Thread(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int j = 0; j < 50_000; j++) {
          if (l.tryAcquire()) {
            acquired.incrementAndGet();
            peak.accumulateAndGet(holding.incrementAndGet(), Math::max);
            peakSeenByLimiter.accumulateAndGet(l.inFlight(), Math::max);
            Thread.onSpinWait();
            holding.decrementAndGet();
            l.release(System.nanoTime(), -1, false, 0);
          }
        }
      });
      threads[i].start();
    }
    go.countDown();
    for (Thread t : threads) {
      t.join();
    }
    assertThat(acquired.get()).isPositive();
    assertThat(peak.get()).isBetween(1, 5);
    assertThat(peakSeenByLimiter.get()).isLessThanOrEqualTo(5);
    assertThat(l.inFlight()).isZero();
  }

  @Test
  void releaseFreesASlotAndSaysSo() {
    ConcurrencyLimiter l = new ConcurrencyLimiter(new AdmissionConfig.Limit("fixed", 2, 1, 1000, 1.5), -1);
    AtomicInteger freed = new AtomicInteger();
    l.onFree(freed::incrementAndGet);
    assertThat(l.tryAcquire()).isTrue();
    assertThat(l.tryAcquire()).isTrue();
    assertThat(l.tryAcquire()).isFalse();
    assertThat(l.inFlight()).isEqualTo(2);
    l.release(0, -1, false, 0);
    assertThat(freed.get()).isEqualTo(1);
    assertThat(l.inFlight()).isEqualTo(1);
    assertThat(l.tryAcquire()).isTrue();
    assertThat(l.tryAcquire()).isFalse();
  }

  @Test
  void aDeploymentsFixedCeilingCapsEveryAlgorithm() {
    for (String alg : new String[] {"fixed", "gradient", "vegas", "tail", "aimd"}) {
      ConcurrencyLimiter l = new ConcurrencyLimiter(new AdmissionConfig.Limit(alg, 20, 1, 1000, 1.5), 3);
      assertThat(l.limit()).as(alg).isEqualTo(3);
      for (int i = 0; i < 3; i++) {
        assertThat(l.tryAcquire()).as(alg).isTrue();
      }
      assertThat(l.tryAcquire()).as(alg).isFalse();
      // fast successes would raise an adaptive limit; the ceiling holds
      for (int i = 0; i < 500; i++) {
        l.release(System.nanoTime() - 1_000_000, 1_000_000, false, 1_000_000);
        assertThat(l.tryAcquire()).isTrue();
      }
      assertThat(l.limit()).as(alg).isLessThanOrEqualTo(3);
      assertThat(l.tryAcquire()).as(alg).isFalse();
    }
  }

  @Test
  void aimdBacksOffOnDrops() {
    ConcurrencyLimiter l = new ConcurrencyLimiter(new AdmissionConfig.Limit("aimd", 20, 1, 100, 1.5), -1);
    assertThat(l.limit()).isEqualTo(20);
    for (int i = 0; i < 5; i++) {
      assertThat(l.tryAcquire()).isTrue();
      l.release(System.nanoTime(), 1_000_000, true, 1_000_000);
    }
    assertThat(l.limit()).isLessThan(20).isGreaterThanOrEqualTo(1);
  }

  @Test
  void holdTimeIsAMovingAverageAndNoSampleLeavesTheLimitAlone() {
    ConcurrencyLimiter l = new ConcurrencyLimiter(new AdmissionConfig.Limit("fixed", 4, 1, 1000, 1.5), -1);
    double before = l.meanHoldNanos();
    for (int i = 0; i < 200; i++) {
      l.tryAcquire();
      l.release(0, -1, false, 2_000_000_000L);
    }
    assertThat(l.meanHoldNanos()).isGreaterThan(before).isCloseTo(2e9, org.assertj.core.api.Assertions.within(1e7));
    l.tryAcquire();
    l.release(0, -1, false, 0); // a slot given back unused: no hold sample
    assertThat(l.meanHoldNanos()).isCloseTo(2e9, org.assertj.core.api.Assertions.within(1e7));
    assertThat(l.limit()).isEqualTo(4);
  }

  /** Feeds Vegas windows of samples at {@code rttMs} with the limit's slots all held. */
  private static void vegasWindows(ConcurrencyLimiter l, long[] clock, double rttMs, int windows) {
    // 20 samples 60 ms of (fake) time apart: a window closes every second
    SaturatedSamples.feed(l, clock, 60_000_000L, windows * 20, i -> (long) (rttMs * 1_000_000));
  }

  @Test
  void vegasWithAToleranceBringsTheLimitDownWhereTheLibraryDefaultHoldsIt() {
    // the provider answers in 100 ms unloaded; then 130 ms: ~4.6 requests wait inside it at a limit of 20
    ConcurrencyLimiter tolerant = new ConcurrencyLimiter(new AdmissionConfig.Limit("vegas", 20, 1, 200, 1.2), -1);
    ConcurrencyLimiter library = new ConcurrencyLimiter(new AdmissionConfig.Limit("vegas", 20, 1, 200, 0), -1);
    for (ConcurrencyLimiter l : new ConcurrencyLimiter[] {tolerant, library}) {
      long[] clock = {0};
      vegasWindows(l, clock, 100, 1);
      int settled = l.limit();
      vegasWindows(l, clock, 130, 3);
      if (l == tolerant) {
        // 1.2 allows a queue of 20 × (1 − 1/1.2) ≈ 3.3: 4.6 is too many
        assertThat(l.limit()).as("tolerance 1.2").isLessThan(settled);
      } else {
        // the library tolerates 3·log10(20) ≈ 3.9 to 6·log10(20) ≈ 7.8 waiting: 4.6 is fine
        assertThat(l.limit()).as("library thresholds").isGreaterThanOrEqualTo(settled);
      }
    }
  }
}
