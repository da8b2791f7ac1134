package dev.sluice.resilience;

import dev.sluice.config.ResilienceConfig.RetryOn;

/** Which failures are worth another attempt (DESIGN.md 4): never a client's own mistake. */
final class Retryable {
  private Retryable() {}

  /** The retry class of a failure before the commit point, or null when it must not be retried. */
  static RetryOn classify(Failure f) {
    return switch (f.kind()) {
      case CONNECT -> RetryOn.CONNECT;
      case RESET -> RetryOn.RESET;
      case TIMEOUT -> switch (f.guard()) {
        case CONNECT -> RetryOn.CONNECT;
        case FIRST_BYTE -> RetryOn.FIRST_BYTE;
        case FIRST_TOKEN -> RetryOn.FIRST_TOKEN;
        default -> null; // idle, total and the deadline: the time is spent
      };
      case STATUS -> switch (f.status()) {
        case 429 -> RetryOn.S429;
        case 500 -> RetryOn.S500;
        case 502 -> RetryOn.S502;
        case 503 -> RetryOn.S503;
        case 504 -> RetryOn.S504;
        default -> null;
      };
      case PROTOCOL, STREAM_ERROR -> null;
    };
  }

  /** Failures that say something about a deployment's health (for its breaker). */
  static boolean countsAgainstHealth(Failure f) {
    return switch (f.kind()) {
      case CONNECT, RESET, TIMEOUT, PROTOCOL, STREAM_ERROR -> true;
      case STATUS -> f.status() >= 500;
    };
  }
}
