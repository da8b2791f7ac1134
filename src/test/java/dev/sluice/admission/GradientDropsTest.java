package dev.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.AdmissionConfig;
import org.junit.jupiter.api.Test;

class GradientDropsTest {
  /** Overload failures (429/503 answered at once) with the limit full, as Execution.recordHealth reports them. */
  private static void fastOverloadFailures(ConcurrencyLimiter l, long[] clock, int samples) {
    for (int i = 0; i < samples; i++) {
      int held = 0;
      while (l.tryAcquire()) {
        held++;
      }
      clock[0] += 60_000_000L;
      l.release(clock[0], 5_000_000L, true, 5_000_000L); // 5 ms 429, dropped
      for (int h = 1; h < held; h++) {
        l.releaseQuietly(clock[0], -1, false, 0);
      }
    }
  }

  @Test
  void theDefaultAlgorithmComesDownOnOverloadFailures() {
    for (String alg : new String[] {"gradient", "vegas", "tail", "aimd"}) {
      ConcurrencyLimiter l = new ConcurrencyLimiter(AdmissionConfig.Limit.DEFAULTS.algorithm().equals(alg)
          ? AdmissionConfig.Limit.DEFAULTS : new AdmissionConfig.Limit(alg, 512, 128, 8192, 2.0), -1);
      long[] clock = {0};
      SaturatedSamples.feed(l, clock, 60_000_000L, 100, i -> 2_000_000_000L); // healthy: 2 s answers
      int before = l.limit();
      fastOverloadFailures(l, clock, 20 * 30); // 30 s of instant 429s from the provider
      if (alg.equals("gradient")) {
        assertThat(l.limit()).as(alg + " limit after 30 s of 429s (was " + before + ")").isLessThanOrEqualTo(before);
      }
    }
  }
}
