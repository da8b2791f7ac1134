package dev.sluice.provider;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.RequestOptions;

/**
 * What one attempt sends upstream: where (the options, without headers), its headers, and the body
 * bytes. The headers are set on the request once it exists rather than carried in the options, which
 * Vert.x would copy into the request: one header map per attempt instead of two.
 *
 * @param headers names and values, alternating; a later name replaces an earlier one
 */
public record UpstreamRequest(RequestOptions options, CharSequence[] headers, Buffer body) {
  public UpstreamRequest {
    if (headers.length % 2 != 0) {
      throw new IllegalArgumentException("headers come in name-value pairs");
    }
  }

  /** Sets the headers on the request that will carry this attempt. */
  public void writeHeaders(HttpClientRequest request) {
    for (int i = 0; i < headers.length; i += 2) {
      request.putHeader(headers[i], headers[i + 1]);
    }
  }
}
