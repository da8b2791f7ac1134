package dev.sluice.envelope;

/**
 * What routing needs from a request body, read in one streaming pass; the body itself is forwarded
 * as bytes. Offsets locate values in the body so that they can be rewritten without re-serializing.
 *
 * @param model          the client-facing model name
 * @param stream         whether the client asked for server-sent events
 * @param maxTokens      {@code max_tokens} or {@code max_completion_tokens}, or -1
 * @param timeoutNanos   the body's {@code timeout} (seconds, as other gateways accept), or -1
 * @param messageCount   chat messages, or 0
 * @param includeUsage   {@code stream_options.include_usage}
 * @param modelStart     offset of the model value's opening quote
 * @param modelEnd       offset just past its closing quote
 * @param timeoutStart   offset of the {@code "timeout"} key, or -1
 * @param timeoutEnd     offset just past its value, or -1
 * @param choices        {@code n}: how many answers are asked for (1 when absent)
 * @param nullLimitAt    offset of the {@code null} value of a {@code max_tokens} or
 *                       {@code max_completion_tokens} member, or -1: where a token ceiling goes
 *                       when the request names the member without a limit
 */
public record Envelope(
    Endpoint endpoint,
    String model,
    boolean stream,
    int maxTokens,
    long timeoutNanos,
    int messageCount,
    boolean includeUsage,
    int modelStart,
    int modelEnd,
    int timeoutStart,
    int timeoutEnd,
    int bodyLength,
    int choices,
    int nullLimitAt) {

  public boolean hasTimeoutField() {
    return timeoutStart >= 0;
  }
}
