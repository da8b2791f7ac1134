package dev.sluice.errors;

import io.vertx.core.Future;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;

/** Writes an {@link ApiError} as an HTTP response, unless the response is already under way. */
public final class ErrorResponder {
  private static final CharSequence JSON = HttpHeaders.createOptimized("application/json");

  private ErrorResponder() {}

  /** Returns the write's future, or a failed one when nothing could be written (already under way or gone). */
  public static Future<Void> send(HttpServerResponse resp, ApiError error) {
    if (resp.headWritten() || resp.ended() || resp.closed()) {
      return Future.failedFuture("response already under way");
    }
    resp.setStatusCode(error.status());
    resp.putHeader(HttpHeaders.CONTENT_TYPE, JSON);
    if (error.retryAfterSeconds() >= 0) {
      resp.putHeader(HttpHeaders.RETRY_AFTER, String.valueOf(error.retryAfterSeconds()));
    }
    return resp.end(error.toJson());
  }
}
