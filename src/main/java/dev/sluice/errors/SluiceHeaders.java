package dev.sluice.errors;

import io.vertx.core.http.HttpHeaders;

/**
 * Names of the headers the gateway sets or reads on every request, made once as pre-hashed ASCII
 * strings: setting or looking up a header by such a name skips hashing it on every request.
 */
public final class SluiceHeaders {
  private SluiceHeaders() {}

  public static final CharSequence REQUEST_ID = HttpHeaders.createOptimized("x-request-id");
  public static final CharSequence PROVIDER = HttpHeaders.createOptimized("x-sluice-provider");
  public static final CharSequence DEPLOYMENT = HttpHeaders.createOptimized("x-sluice-deployment");
  public static final CharSequence ATTEMPTS = HttpHeaders.createOptimized("x-sluice-attempts");
  public static final CharSequence HEDGED = HttpHeaders.createOptimized("x-sluice-hedged");
  public static final CharSequence OVERHEAD_MS = HttpHeaders.createOptimized("x-sluice-overhead-ms");
  public static final CharSequence RETRY_SKIPPED = HttpHeaders.createOptimized("x-sluice-retry-skipped");
  public static final CharSequence UPSTREAM_STATUS = HttpHeaders.createOptimized("x-sluice-upstream-status");
  public static final CharSequence UPSTREAM_REQUEST_ID = HttpHeaders.createOptimized("x-upstream-request-id");
  public static final CharSequence ACCEL_BUFFERING = HttpHeaders.createOptimized("x-accel-buffering");
  public static final CharSequence NO = HttpHeaders.createOptimized("no");
  public static final CharSequence TRUE = HttpHeaders.createOptimized("true");

  // read from clients
  public static final CharSequence REQUEST_TIMEOUT = HttpHeaders.createOptimized("x-request-timeout");
  public static final CharSequence GRPC_TIMEOUT = HttpHeaders.createOptimized("grpc-timeout");
  public static final CharSequence FORWARDED = HttpHeaders.createOptimized("forwarded");
  public static final CharSequence X_FORWARDED_FOR = HttpHeaders.createOptimized("x-forwarded-for");
  public static final CharSequence X_REAL_IP = HttpHeaders.createOptimized("x-real-ip");
  public static final CharSequence VIA = HttpHeaders.createOptimized("via");

  // read from providers
  public static final CharSequence RATELIMIT_REMAINING_REQUESTS = HttpHeaders.createOptimized("x-ratelimit-remaining-requests");
  public static final CharSequence RATELIMIT_REMAINING_TOKENS = HttpHeaders.createOptimized("x-ratelimit-remaining-tokens");
  public static final CharSequence RATELIMIT_RESET_REQUESTS = HttpHeaders.createOptimized("x-ratelimit-reset-requests");
  public static final CharSequence RATELIMIT_RESET_TOKENS = HttpHeaders.createOptimized("x-ratelimit-reset-tokens");
}
