package dev.sluice.telemetry;

/** How a request ended, as recorded. */
public enum Outcome {
  /** The client received a complete answer. */
  SUCCESS("success", 200),
  /** The provider answered with an error that was passed on. */
  UPSTREAM_ERROR("upstream_error", 502),
  /** A guard or the deadline fired before the answer was committed. */
  TIMEOUT("timeout", 504),
  /** A stream failed after its first byte; the client got a final error event. */
  TRUNCATED("truncated", 200),
  /** The client went away; everything was released. Logged as 499. */
  CLIENT_CLOSED("client_closed", 499),
  /** The gateway refused the request (bad input, unknown model, limits). */
  REJECTED("rejected", 400),
  /** The gateway could not reach a provider at all. */
  UNAVAILABLE("unavailable", 502),
  /** A fault of the gateway's own (a bug): the client got a 500 and the gateway's log says what failed. */
  GATEWAY_ERROR("gateway_error", 500);

  private final String label;
  private final int defaultStatus;

  Outcome(String label, int defaultStatus) {
    this.label = label;
    this.defaultStatus = defaultStatus;
  }

  public String label() {
    return label;
  }

  public int defaultStatus() {
    return defaultStatus;
  }
}
