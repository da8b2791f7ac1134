package dev.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.AdmissionConfig;
import org.junit.jupiter.api.Test;

class VegasMinTest {
  @Test
  void vegasNeverGoesBelowTheConfiguredMin() {
    // documented defaults except the algorithm: min 128 is "a floor keeps a few slow answers from turning into 503s"
    ConcurrencyLimiter l = new ConcurrencyLimiter(new AdmissionConfig.Limit("vegas", 512, 128, 8192, 2.0), -1);
    long[] clock = {0};
    SaturatedSamples.feed(l, clock, 60_000_000L, 20, i -> 100_000_000L); // learn 100 ms unloaded
    // the provider slows to 1 s answers (no failures), limit full: one window a second for 5 minutes
    int lowest = Integer.MAX_VALUE;
    for (int w = 0; w < 300; w++) {
      SaturatedSamples.feed(l, clock, 60_000_000L, 20, i -> 1_000_000_000L);
      lowest = Math.min(lowest, l.limit());
    }
    assertThat(lowest).as("lowest vegas limit during the slow spell").isGreaterThanOrEqualTo(128);
  }
}
