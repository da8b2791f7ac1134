package dev.sluice.provider;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.RequestOptions;

/** What one attempt sends upstream: where and with which headers, and the body bytes. */
public record UpstreamRequest(RequestOptions options, Buffer body) {}
