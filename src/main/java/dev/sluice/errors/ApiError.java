package dev.sluice.errors;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

/**
 * An error in OpenAI's shape: {@code {"error":{"message","type","code","param"}}}, with its HTTP
 * status and, where a client should wait, a {@code Retry-After} in seconds.
 */
public record ApiError(int status, String type, String code, String param, String message, long retryAfterSeconds) {

  public static final String INVALID_REQUEST = "invalid_request_error";

  public ApiError(int status, String type, String code, String param, String message) {
    this(status, type, code, param, message, -1);
  }

  public static ApiError invalid(String code, String param, String message) {
    return new ApiError(400, INVALID_REQUEST, code, param, message);
  }

  /** 404 for a model name that is neither configured, an alias nor a pass-through name. */
  public static ApiError modelNotFound(String model) {
    return new ApiError(404, INVALID_REQUEST, "model_not_found", "model",
        "the model '" + model + "' does not exist or is not served here");
  }

  public ApiError withRetryAfter(long seconds) {
    return new ApiError(status, type, code, param, message, seconds);
  }

  /** The JSON body: {@code {"error":{...}}}. */
  public String toJson() {
    StringBuilder sb = new StringBuilder(96 + message.length());
    sb.append("{\"error\":{\"message\":");
    quote(sb, message);
    sb.append(",\"type\":");
    quote(sb, type);
    sb.append(",\"param\":");
    quote(sb, param);
    sb.append(",\"code\":");
    quote(sb, code);
    sb.append("}}");
    return sb.toString();
  }

  /** The same error as a final server-sent event, for streams that fail after their first byte. */
  public String toSseEvent() {
    return "data: " + toJson() + "\n\n";
  }

  private static void quote(StringBuilder sb, String s) {
    if (s == null) {
      sb.append("null");
      return;
    }
    sb.append('"');
    JsonStringEncoder.getInstance().quoteAsString(s, sb);
    sb.append('"');
  }

  /** Thrown where a stage rejects a request; carries the error to send. */
  public static final class Rejection extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient ApiError error;

    public Rejection(ApiError error) {
      super(error.message(), null, false, false);
      this.error = error;
    }

    public ApiError error() {
      return error;
    }
  }

  public Rejection rejection() {
    return new Rejection(this);
  }
}
