package dev.sluice.config;

import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Reads a {@code resilience:} section over a base (the gateway's defaults, or the gateway's section for a model). */
final class ResilienceParser {
  private ResilienceParser() {}

  static ResilienceConfig parse(Section s, ResilienceConfig base) {
    ResilienceConfig.Routing routing = base.routing();
    String r = s.string("routing", null);
    if (r != null) {
      switch (r.trim().toLowerCase(Locale.ROOT).replace('-', '_')) {
        case "weighted", "weighted_random" -> routing = ResilienceConfig.Routing.WEIGHTED;
        case "p2c", "peak_ewma", "power_of_two" -> routing = ResilienceConfig.Routing.P2C;
        case "least_inflight", "least_in_flight" -> routing = ResilienceConfig.Routing.LEAST_INFLIGHT;
        default -> s.problems().error(s.child("routing"),
            "unknown routing '" + r + "'; expected weighted, p2c or least_inflight");
      }
    }
    ResilienceConfig c = new ResilienceConfig(
        retry(s.section("retry"), base.retry()),
        budget(s.section("budget"), base.budget()),
        breaker(s.section("breaker"), base.breaker()),
        hedge(s.section("hedge"), base.hedge()),
        adaptive(s.section("adaptive_first_byte"), base.adaptive()),
        quota(s.section("quota"), base.quota()),
        routing);
    s.rejectUnknown();
    return c;
  }

  private static ResilienceConfig.Retry retry(Section s, ResilienceConfig.Retry b) {
    Set<ResilienceConfig.RetryOn> on = b.on();
    if (s.has("on")) {
      List<String> names = s.strings("on");
      on = EnumSet.noneOf(ResilienceConfig.RetryOn.class);
      for (String n : names) {
        ResilienceConfig.RetryOn o = retryOn(n);
        if (o == null) {
          s.problems().error(s.child("on"), "cannot retry on '" + n + "'; expected some of connect, reset, "
              + "first_byte, first_token, 429, 500, 502, 503, 504 (4xx other than 429 are never retried)");
        } else {
          on.add(o);
        }
      }
    }
    Section backoff = s.section("backoff");
    Duration base = backoff.duration("base", b.backoffBase());
    Duration max = backoff.duration("max", b.backoffMax());
    backoff.rejectUnknown();
    if (base.compareTo(max) > 0) {
      s.problems().error(backoff.child("base"), "backoff base " + Durations.format(base)
          + " is longer than its max " + Durations.format(max));
    }
    ResilienceConfig.Retry r = new ResilienceConfig.Retry(
        s.integer("max_attempts", b.maxAttempts(), 1, 20), on, base, max,
        s.bool("honor_retry_after", b.honorRetryAfter()),
        s.durationOrAuto("min_useful_time", b.minUsefulTime()));
    s.rejectUnknown();
    return r;
  }

  private static ResilienceConfig.RetryOn retryOn(String n) {
    return switch (n.trim().toLowerCase(Locale.ROOT)) {
      case "connect", "connect_error", "connect_timeout" -> ResilienceConfig.RetryOn.CONNECT;
      case "reset", "upstream_reset" -> ResilienceConfig.RetryOn.RESET;
      case "first_byte", "first_byte_timeout" -> ResilienceConfig.RetryOn.FIRST_BYTE;
      case "first_token", "first_token_timeout" -> ResilienceConfig.RetryOn.FIRST_TOKEN;
      case "429" -> ResilienceConfig.RetryOn.S429;
      case "500" -> ResilienceConfig.RetryOn.S500;
      case "502" -> ResilienceConfig.RetryOn.S502;
      case "503" -> ResilienceConfig.RetryOn.S503;
      case "504" -> ResilienceConfig.RetryOn.S504;
      default -> null;
    };
  }

  private static ResilienceConfig.Budget budget(Section s, ResilienceConfig.Budget b) {
    ResilienceConfig.Budget r = new ResilienceConfig.Budget(
        s.decimal("ratio", b.ratio(), 0, 10),
        s.decimal("min_per_second", b.minPerSecond(), 0, 1_000_000),
        s.duration("window", b.window()));
    s.rejectUnknown();
    return r;
  }

  private static ResilienceConfig.Breaker breaker(Section s, ResilienceConfig.Breaker b) {
    ResilienceConfig.Breaker r = new ResilienceConfig.Breaker(
        s.bool("enabled", b.enabled()),
        (float) s.decimal("failure_rate", b.failureRate(), 1, 100),
        (float) s.decimal("slow_call_rate", b.slowCallRate(), 1, 100),
        s.duration("slow_call_duration", b.slowCallDuration()),
        s.integer("window", b.window(), 1, 100_000),
        s.integer("minimum_calls", b.minimumCalls(), 1, 100_000),
        s.duration("open_for", b.openFor()),
        s.integer("half_open_calls", b.halfOpenCalls(), 1, 1000));
    s.rejectUnknown();
    return r;
  }

  private static ResilienceConfig.Hedge hedge(Section s, ResilienceConfig.Hedge b) {
    ResilienceConfig.Hedge r = new ResilienceConfig.Hedge(
        s.bool("enabled", b.enabled()),
        s.durationOrAuto("delay", b.delay()),
        s.integer("min_samples", b.minSamples(), 1, 100_000));
    s.rejectUnknown();
    return r;
  }

  private static ResilienceConfig.AdaptiveFirstByte adaptive(Section s, ResilienceConfig.AdaptiveFirstByte b) {
    ResilienceConfig.AdaptiveFirstByte r = new ResilienceConfig.AdaptiveFirstByte(
        s.bool("enabled", b.enabled()),
        s.decimal("factor", b.factor(), 1, 100),
        s.duration("floor", b.floor()),
        s.integer("min_samples", b.minSamples(), 1, 100_000));
    s.rejectUnknown();
    return r;
  }

  private static ResilienceConfig.Quota quota(Section s, ResilienceConfig.Quota b) {
    ResilienceConfig.Quota r = new ResilienceConfig.Quota(
        s.bool("enabled", b.enabled()),
        s.longValue("min_remaining_requests", b.minRemainingRequests()),
        s.longValue("min_remaining_tokens", b.minRemainingTokens()));
    s.rejectUnknown();
    return r;
  }
}
