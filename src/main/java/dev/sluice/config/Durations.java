package dev.sluice.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the human duration format used in configuration files and in the {@code X-Request-Timeout}
 * header: a decimal number followed by {@code ms}, {@code s}, {@code m} or {@code h} ({@code 250ms},
 * {@code 2.5s}, {@code 1m}). A bare number means seconds, as in most gateway configuration files.
 */
public final class Durations {
  private static final Pattern HUMAN = Pattern.compile("(\\d+(?:\\.\\d+)?|\\.\\d+)\\s*(ms|s|m|h)?");
  private static final long MAX_NANOS = Duration.ofDays(365).toNanos();

  private Durations() {}

  private static final Pattern ZERO = Pattern.compile("0+(\\.0+)?\\s*(ms|s|m|h)?");

  /**
   * Whether {@code text} is a zero duration ({@code 0}, {@code 0s}, {@code 0.0ms}): valid where a
   * setting may be zero (no warm-up, no drain), which {@link #parseNanos} refuses as not positive.
   */
  public static boolean isZero(String text) {
    return text != null && ZERO.matcher(text.trim()).matches();
  }

  /** Returns the duration in nanoseconds, or -1 when the text is not a valid positive duration. */
  public static long parseNanos(String text) {
    if (text == null) {
      return -1;
    }
    Matcher m = HUMAN.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      return -1;
    }
    double value;
    try {
      value = Double.parseDouble(m.group(1));
    } catch (NumberFormatException e) {
      return -1;
    }
    String unit = m.group(2) == null ? "s" : m.group(2);
    double nanos = switch (unit) {
      case "ms" -> value * 1e6;
      case "s" -> value * 1e9;
      case "m" -> value * 60e9;
      case "h" -> value * 3600e9;
      default -> -1;
    };
    if (!(nanos > 0) || nanos > MAX_NANOS) {
      return -1;
    }
    return Math.max(1, (long) nanos);
  }

  public static Duration parse(String text) {
    long n = parseNanos(text);
    return n < 0 ? null : Duration.ofNanos(n);
  }

  /** Renders a duration compactly for messages and headers: {@code 250ms}, {@code 2.5s}, {@code 3m}. */
  public static String format(Duration d) {
    return formatNanos(d.toNanos());
  }

  public static String formatNanos(long nanos) {
    if (nanos == Long.MAX_VALUE) {
      return "none";
    }
    long ms = Math.round(nanos / 1e6);
    if (ms < 1000) {
      return ms + "ms";
    }
    if (ms % 60_000 == 0) {
      return (ms / 60_000) + "m";
    }
    double s = ms / 1000.0;
    return (s == Math.rint(s) ? String.valueOf((long) s) : String.valueOf(s)) + "s";
  }
}
