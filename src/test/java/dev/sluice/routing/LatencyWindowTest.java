package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LatencyWindowTest {
  @Test
  void emptyHasNoQuantile() {
    LatencyWindow w = new LatencyWindow();
    assertThat(w.size()).isZero();
    assertThat(w.quantile(0.5)).isEqualTo(-1);
    assertThat(w.quantile(0.99)).isEqualTo(-1);
  }

  @Test
  void quantilesAreNearestRankOverTheSamples() {
    LatencyWindow w = new LatencyWindow(256, 16);
    // recorded out of order
    for (int i = 100; i >= 1; i--) {
      w.record(i);
    }
    assertThat(w.size()).isEqualTo(100);
    assertThat(w.quantile(0)).isEqualTo(1);
    assertThat(w.quantile(0.01)).isEqualTo(1);
    assertThat(w.quantile(0.5)).isEqualTo(50);
    assertThat(w.quantile(0.95)).isEqualTo(95);
    assertThat(w.quantile(0.99)).isEqualTo(99);
    assertThat(w.quantile(1)).isEqualTo(100);
  }

  @Test
  void aSingleSampleIsEveryQuantile() {
    LatencyWindow w = new LatencyWindow();
    w.record(42);
    assertThat(w.quantile(0)).isEqualTo(42);
    assertThat(w.quantile(0.5)).isEqualTo(42);
    assertThat(w.quantile(1)).isEqualTo(42);
  }

  @Test
  void whileFillingEverySampleCounts() {
    LatencyWindow w = new LatencyWindow(256, 16);
    w.record(10);
    assertThat(w.quantile(1)).isEqualTo(10);
    w.record(20);
    assertThat(w.quantile(1)).as("a new sample shows at once while the window fills").isEqualTo(20);
  }

  @Test
  void theRingKeepsOnlyTheNewestSamples() {
    LatencyWindow w = new LatencyWindow(10, 1);
    for (int i = 1; i <= 25; i++) {
      w.record(i);
    }
    assertThat(w.size()).isEqualTo(10);
    assertThat(w.quantile(0)).isEqualTo(16);
    assertThat(w.quantile(1)).isEqualTo(25);
  }

  @Test
  void quantilesOfAFullWindowAreAtMostRecomputeEverySamplesStale() {
    LatencyWindow w = new LatencyWindow(32, 8);
    for (int i = 0; i < 32; i++) {
      w.record(100);
    }
    assertThat(w.quantile(0.5)).isEqualTo(100);
    for (int i = 0; i < 7; i++) {
      w.record(1_000);
    }
    // cached: 7 new samples are not yet seen
    assertThat(w.quantile(1)).isEqualTo(100);
    w.record(1_000);
    assertThat(w.quantile(1)).as("the 8th new sample forces a recompute").isEqualTo(1_000);
    for (int i = 0; i < 32; i++) {
      w.record(5);
    }
    assertThat(w.quantile(0.5)).isEqualTo(5);
    assertThat(w.quantile(1)).isEqualTo(5);
  }

  @Test
  void concurrentWritersAndReadersSeeAConsistentWindow() throws Exception {
    LatencyWindow w = new LatencyWindow(64, 4);
    Thread[] ts = new Thread[4];
    for (int t = 0; t < ts.length; t++) {
      int base = t;
      ts[t] = new Thread(() -> {
        for (int i = 0; i < 20_000; i++) {
          w.record(1 + (i + base) % 100);
          long q = w.quantile(0.9);
          if (q < 1 || q > 100) {
            throw new AssertionError("quantile " + q);
          }
        }
      });
      ts[t].start();
    }
    for (Thread t : ts) {
      t.join();
    }
    assertThat(w.size()).isEqualTo(64);
    assertThat(w.quantile(0.5)).isBetween(1L, 100L);
  }
}
