package dev.sluice.telemetry;

/**
 * Events of a request's life that are counted but are not the final record: each attempt's result,
 * retries, hedges, and why a retry did not happen. Called on event loops; must not block.
 */
public interface Telemetry {
  /** An attempt ended: {@code result} is a status code, a guard name, or a failure class. */
  default void attemptEnded(String model, String deployment, String provider, String result, long nanos) {}

  default void retried(String model, String deployment) {}

  default void hedged(String model, String deployment) {}

  default void retrySkipped(String model, String reason) {}

  /** A request was refused before reaching a provider ({@code rate_limited}, {@code queue_full}, ...). */
  default void shed(String reason) {}

  Telemetry NONE = new Telemetry() {};
}
