package dev.sluice.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The guards of one attempt against a deployment (DESIGN.md 2.2). Every value is clipped to the
 * request's remaining deadline when the attempt starts.
 *
 * @param connect     TCP/TLS connection (or a pooled one) must be obtained within this time
 * @param firstByte   non-streaming: response headers must arrive within this time of the attempt's start
 * @param firstToken  streaming: the first token must arrive within this time of the attempt's start
 * @param idle        no gap between two chunks of a response may be longer than this
 * @param total       a non-streaming attempt as a whole
 * @param streamTotal a streaming attempt as a whole
 */
public record Timeouts(
    Duration connect,
    Duration firstByte,
    Duration firstToken,
    Duration idle,
    Duration total,
    Duration streamTotal) {

  /** Defaults of the OpenAI-compatible adapter when neither preset nor configuration says otherwise. */
  public static final Timeouts DEFAULTS = new Timeouts(
      Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(30),
      Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(170));

  public Timeouts {
    Objects.requireNonNull(connect, "connect");
    Objects.requireNonNull(firstByte, "firstByte");
    Objects.requireNonNull(firstToken, "firstToken");
    Objects.requireNonNull(idle, "idle");
    Objects.requireNonNull(total, "total");
    Objects.requireNonNull(streamTotal, "streamTotal");
  }

  /** The first-byte guard that applies to a request of this kind. */
  public Duration firstByteFor(boolean stream) {
    return stream ? firstToken : firstByte;
  }

  /** The attempt total that applies to a request of this kind. */
  public Duration totalFor(boolean stream) {
    return stream ? streamTotal : total;
  }

  public Timeouts withConnect(Duration d) {
    return new Timeouts(d, firstByte, firstToken, idle, total, streamTotal);
  }

  public Timeouts withFirstByte(Duration d) {
    return new Timeouts(connect, d, firstToken, idle, total, streamTotal);
  }

  public Timeouts withFirstToken(Duration d) {
    return new Timeouts(connect, firstByte, d, idle, total, streamTotal);
  }

  public Timeouts withIdle(Duration d) {
    return new Timeouts(connect, firstByte, firstToken, d, total, streamTotal);
  }

  public Timeouts withTotal(Duration d) {
    return new Timeouts(connect, firstByte, firstToken, idle, d, streamTotal);
  }

  public Timeouts withStreamTotal(Duration d) {
    return new Timeouts(connect, firstByte, firstToken, idle, total, d);
  }
}
