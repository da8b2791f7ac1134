package dev.sluice.admission;

import java.util.Locale;

/** A request's priority, from its key; the queue gives each priority a guaranteed share. */
public enum Priority {
  HIGH, NORMAL, LOW;

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The priority named {@code s}, or null. */
  public static Priority parse(String s) {
    if (s == null) {
      return null;
    }
    return switch (s.trim().toLowerCase(Locale.ROOT)) {
      case "high" -> HIGH;
      case "normal", "default" -> NORMAL;
      case "low" -> LOW;
      default -> null;
    };
  }
}
