package dev.sluice.errors;

import io.vertx.core.http.HttpHeaders;

/**
 * Names of the headers the gateway sets, made once as pre-hashed ASCII strings: setting a header
 * by such a name skips hashing and lower-casing on every request.
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
}
