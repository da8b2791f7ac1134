package dev.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.AdmissionConfig;
import org.junit.jupiter.api.Test;

class LimitBoundsTest {
  /** Outage: every attempt a timeout (dropped, 30 s latency), limit full, on a fake clock. */
  private static void outage(ConcurrencyLimiter l, long[] clock, int samples) {
    for (int i = 0; i < samples; i++) {
      int held = 0;
      while (l.tryAcquire()) {
        held++;
      }
      clock[0] += 60_000_000L;
      l.release(clock[0], 30_000_000_000L, true, 0);
      for (int h = 1; h < held; h++) {
        l.releaseQuietly(clock[0], -1, false, 0);
      }
    }
  }

  @Test
  void everyAlgorithmStaysAtOrAboveMinThroughAnOutage() {
    StringBuilder report = new StringBuilder();
    for (String alg : new String[] {"gradient", "vegas", "tail", "aimd"}) {
      ConcurrencyLimiter l = new ConcurrencyLimiter(new AdmissionConfig.Limit(alg, 512, 128, 8192, 2.0), -1);
      long[] clock = {0};
      SaturatedSamples.feed(l, clock, 60_000_000L, 200, i -> 100_000_000L);
      int before = l.limit();
      outage(l, clock, 2000);
      int low = l.limit();
      SaturatedSamples.feed(l, clock, 60_000_000L, 20 * 600, i -> 100_000_000L);
      report.append(alg).append(": before=").append(before).append(" afterOutage=").append(low)
          .append(" after10minHealthy=").append(l.limit()).append('\n');
    }
    for (String line : report.toString().split("\n")) {
      int low = Integer.parseInt(line.replaceAll(".*afterOutage=(\\d+).*", "$1"));
      assertThat(low).as(line).isGreaterThanOrEqualTo(128);
    }
  }
}
