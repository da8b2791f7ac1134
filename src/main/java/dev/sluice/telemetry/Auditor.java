package dev.sluice.telemetry;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Rule-based watcher of the live figures: once a second it looks at the last minute per model and
 * provider and raises or resolves alerts. Each rule is a threshold worth a person's attention.
 */
public final class Auditor {
  /** Requests a minute needs before rates are judged: a few failures of very little traffic are noise. */
  static final int MIN_REQUESTS = 20;

  private final Alerts alerts;
  private final Set<String> rateKeys = new HashSet<>();

  public Auditor(Alerts alerts) {
    this.alerts = alerts;
  }

  /** @param window per "model on provider": {requests, errors, timeouts, truncated} over the last minute */
  public void evaluate(Map<String, long[]> window, long epochMillis) {
    Set<String> seen = new HashSet<>();
    for (Map.Entry<String, long[]> e : window.entrySet()) {
      long[] a = e.getValue();
      String subject = e.getKey();
      if (a[0] < MIN_REQUESTS) {
        continue;
      }
      double errors = (double) a[1] / a[0];
      double timeouts = (double) a[2] / a[0];
      double truncated = (double) a[3] / a[0];
      check(seen, "errors:" + subject, errors, 0.2, 0.5, "errors", subject,
          String.format(java.util.Locale.ROOT, "%.0f%% of requests to %s failed in the last minute", errors * 100, subject),
          epochMillis);
      check(seen, "timeouts:" + subject, timeouts, 0.1, 0.3, "timeouts", subject,
          String.format(java.util.Locale.ROOT, "%.0f%% of requests to %s timed out in the last minute;"
              + " check its guards or the provider", timeouts * 100, subject), epochMillis);
      check(seen, "truncated:" + subject, truncated, 0.05, 0.2, "streams", subject,
          String.format(java.util.Locale.ROOT, "%.0f%% of streams from %s were cut short in the last minute",
              truncated * 100, subject), epochMillis);
    }
    for (String k : rateKeys) {
      if (!seen.contains(k)) {
        alerts.resolve(k, epochMillis);
      }
    }
    rateKeys.retainAll(seen);
  }

  private void check(Set<String> seen, String key, double rate, double warn, double crit, String category,
      String subject, String message, long now) {
    if (rate >= warn) {
      seen.add(key);
      rateKeys.add(key);
      alerts.raise(key, rate >= crit ? Alerts.Severity.CRITICAL : Alerts.Severity.WARNING, category, subject,
          message, now);
    }
  }

  /** A deployment's breaker changed state. */
  public void breaker(String deployment, String to, long now) {
    String key = "breaker:" + deployment;
    if (to.equals("open") || to.equals("forced_open")) {
      alerts.raise(key, Alerts.Severity.CRITICAL, "breaker", deployment,
          "the circuit breaker of " + deployment + " opened: its calls are failing or slow", now);
    } else if (to.equals("closed")) {
      alerts.resolve(key, now);
    }
  }

  /** A condition that holds or not (store degraded, memory pressure): raised while true, resolved when false. */
  public void condition(String key, boolean holds, Alerts.Severity severity, String category, String subject,
      String message, long now) {
    if (holds) {
      alerts.raise(key, severity, category, subject, message, now);
    } else if (alerts.isOpen(key)) {
      alerts.resolve(key, now);
    }
  }
}
