package dev.sluice.resilience;

import dev.sluice.deadline.Guard;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

/**
 * Why an attempt did not produce an answer.
 *
 * @param kind    the class of failure, which decides retry and the client's status
 * @param guard   for timeouts, which guard fired
 * @param limitNanos for timeouts, the guard's limit
 * @param status  for provider errors, the provider's status
 * @param headers for provider errors, the provider's headers
 * @param body    for provider errors, the provider's body (bounded)
 * @param message a human explanation
 */
public record Failure(Kind kind, Guard guard, long limitNanos, int status, MultiMap headers, Buffer body, String message) {

  public enum Kind {
    /** No connection could be made. */
    CONNECT,
    /** A guard fired. */
    TIMEOUT,
    /** The provider answered with a non-2xx status. */
    STATUS,
    /** The connection broke while the response was being received. */
    RESET,
    /** The provider answered with something that is not a valid answer. */
    PROTOCOL,
    /** The provider's stream carried an error event. */
    STREAM_ERROR
  }

  public static Failure connect(Throwable cause) {
    return new Failure(Kind.CONNECT, null, 0, 0, null, null, describe(cause));
  }

  public static Failure timeout(Guard guard, long limitNanos) {
    return new Failure(Kind.TIMEOUT, guard, limitNanos, 0, null, null, null);
  }

  public static Failure status(int status, MultiMap headers, Buffer body) {
    return new Failure(Kind.STATUS, null, 0, status, headers, body, "the provider answered " + status);
  }

  public static Failure reset(Throwable cause) {
    return new Failure(Kind.RESET, null, 0, 0, null, null, describe(cause));
  }

  public static Failure protocol(String message) {
    return new Failure(Kind.PROTOCOL, null, 0, 0, null, null, message);
  }

  /** An error event in place of a stream's first token; {@code data} is the event's data (its JSON). */
  public static Failure streamError(String data) {
    return new Failure(Kind.STREAM_ERROR, null, 0, 0, null, Buffer.buffer(data), "the provider's stream reported an error");
  }

  /**
   * The exception's class and message, then its causes' messages, each once: a TLS failure says only
   * "Failed to create SSL connection", the same for every fault; its causes say which (an untrusted
   * or expired certificate, one for another name).
   */
  private static String describe(Throwable t) {
    if (t == null) {
      return "unknown error";
    }
    StringBuilder sb = new StringBuilder(t.getClass().getSimpleName());
    int depth = 0; // a chain is finite but need not end: A caused by B caused by A is possible
    for (Throwable c = t; c != null && depth++ < 8; c = c.getCause()) {
      String m = c.getMessage();
      if (m != null && !m.isBlank() && sb.indexOf(m) < 0) {
        sb.append(": ").append(m);
      }
    }
    return sb.toString();
  }
}
