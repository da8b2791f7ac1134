package dev.sluice.resilience;

import dev.sluice.config.ResilienceConfig;
import dev.sluice.config.Timeouts;
import dev.sluice.routing.LatencyWindow;
import java.time.Duration;

/**
 * Tightens the first-byte (or first-token) guard to what a deployment has shown it needs:
 * p99 × factor, never below the floor and never above the configured guard (DESIGN.md 2.2:
 * adaptive timeouts may tighten a guard, never loosen it).
 */
final class AdaptiveGuard {
  private AdaptiveGuard() {}

  static Timeouts apply(Timeouts t, LatencyWindow observed, boolean stream, ResilienceConfig.AdaptiveFirstByte c) {
    if (!c.enabled() || observed.size() < c.minSamples()) {
      return t;
    }
    long p99 = observed.quantile(0.99);
    long configured = t.firstByteFor(stream).toNanos();
    long adapted = Math.min(configured, Math.max(c.floor().toNanos(), (long) (p99 * c.factor())));
    if (adapted >= configured) {
      return t;
    }
    Duration d = Duration.ofNanos(adapted);
    return stream ? t.withFirstToken(d) : t.withFirstByte(d);
  }
}
