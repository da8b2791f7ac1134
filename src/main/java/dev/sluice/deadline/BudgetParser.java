package dev.sluice.deadline;

import dev.sluice.config.Durations;

/**
 * Reads a client's time budget. {@code X-Request-Timeout} takes the human format ({@code 250ms},
 * {@code 2.5s}, {@code 30s}, {@code 1m}, a bare number is seconds); {@code grpc-timeout} takes
 * gRPC's format (at most 8 digits and one of {@code H M S m u n}, where {@code m} is milliseconds).
 * The two formats disagree on {@code m}; each header keeps its own convention.
 */
public final class BudgetParser {
  private BudgetParser() {}

  /** Nanoseconds, or -1 when the value is not a positive duration. */
  public static long parseHuman(String value) {
    return Durations.parseNanos(value);
  }

  /** Nanoseconds (saturating at {@code Long.MAX_VALUE}), or -1 when the value is not a valid gRPC timeout. */
  public static long parseGrpc(String value) {
    if (value == null) {
      return -1;
    }
    String v = value.trim();
    int n = v.length();
    if (n < 2 || n > 9) {
      return -1;
    }
    long amount = 0;
    for (int i = 0; i < n - 1; i++) {
      char c = v.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      amount = amount * 10 + (c - '0');
    }
    long unit = switch (v.charAt(n - 1)) {
      case 'H' -> 3_600_000_000_000L;
      case 'M' -> 60_000_000_000L;
      case 'S' -> 1_000_000_000L;
      case 'm' -> 1_000_000L;
      case 'u' -> 1_000L;
      case 'n' -> 1L;
      default -> -1;
    };
    if (unit < 0 || amount == 0) {
      return -1;
    }
    // 8 digits of hours (about 11 000 years) do not fit in a long of nanoseconds: such a budget is
    // valid and simply longer than anything else that bounds the request
    return amount > Long.MAX_VALUE / unit ? Long.MAX_VALUE : amount * unit;
  }

  /** Renders a remaining budget for {@code X-Request-Timeout} sent upstream. */
  public static String formatMillis(long nanos) {
    return Math.max(1, nanos / 1_000_000) + "ms";
  }
}
