package dev.sluice.server;

import dev.sluice.envelope.Endpoint;
import dev.sluice.errors.ApiError;
import dev.sluice.errors.ErrorResponder;
import dev.sluice.provider.UpstreamClients;
import dev.sluice.resilience.Execution;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;

/**
 * Sends each request to the stage that owns it. The inference paths are matched first and by
 * plain string comparison: they are the hot path.
 */
final class Dispatcher implements Handler<HttpServerRequest> {
  private final Services s;
  private final Execution.Context execution;
  private final InfoHandler info;
  private final Handler<HttpServerRequest> fallback;
  private final Http2GoAway http2;

  Dispatcher(Services s, UpstreamClients clients, Handler<HttpServerRequest> fallback, Http2GoAway http2) {
    this.s = s;
    this.execution = new Execution.Context(s.clock(), s.scheduler(), s.ledger(), s.recorder(), s.adapters(), clients,
        s.globalBudget(), s.random(), s.telemetry(), s.running().forThisLoop());
    this.info = new InfoHandler(s);
    this.fallback = fallback;
    this.http2 = http2;
  }

  @Override
  public void handle(HttpServerRequest req) {
    if (req.version() == HttpVersion.HTTP_2) {
      http2.seen(req.connection()); // so that a stop can tell it to go away (Http2GoAway)
    }
    String path = req.path();
    if (path == null) {
      // an HTTP/2 CONNECT has no :path (RFC 9113 8.5); the switch below would throw on it and leave
      // the stream unanswered. Nothing here is a tunnel.
      req.response().putHeader("allow", "GET, HEAD, POST");
      ErrorResponder.send(req.response(), new ApiError(405, ApiError.INVALID_REQUEST, "method_not_allowed", null,
          req.method() + " is not supported: this gateway is not a proxy"));
      return;
    }
    Endpoint endpoint = Endpoint.ofPath(path);
    if (endpoint != null) {
      if (req.method() != HttpMethod.POST) {
        methodNotAllowed(req, "POST");
        return;
      }
      new InboundRequest(s, execution, req, endpoint).start();
      return;
    }
    switch (path) {
      case "/health", "/healthz" -> get(req, info::health);
      case "/ready", "/readyz" -> get(req, info::ready);
      case "/version" -> get(req, info::version);
      case "/v1/models" -> get(req, r -> withCaller(r, info::models));
      default -> {
        if (path.startsWith(MODEL_PREFIX) && path.length() > MODEL_PREFIX.length()) {
          // GET /v1/models/{model}: the SDKs' models.retrieve
          get(req, r -> withCaller(r, x -> info.model(x, path.substring(MODEL_PREFIX.length()))));
        } else {
          fallback.handle(req);
        }
      }
    }
  }

  private static final String MODEL_PREFIX = "/v1/models/";

  /** Like OpenAI's, the model list needs a key once keys exist. */
  private void withCaller(HttpServerRequest r, Handler<HttpServerRequest> h) {
    ApiError denied = s.admission().checkCaller(r.getHeader("authorization"), () -> AdminAuth.isLoopback(r));
    if (denied != null) {
      ErrorResponder.send(r.response(), denied);
    } else {
      h.handle(r);
    }
  }

  private static void get(HttpServerRequest req, Handler<HttpServerRequest> h) {
    if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
      methodNotAllowed(req, "GET");
      return;
    }
    h.handle(req);
  }

  private static void methodNotAllowed(HttpServerRequest req, String allow) {
    req.response().putHeader("allow", allow);
    ErrorResponder.send(req.response(), new ApiError(405, ApiError.INVALID_REQUEST, "method_not_allowed", null,
        req.method() + " is not allowed on " + req.path() + "; use " + allow));
  }

  static void notFound(HttpServerRequest req) {
    ErrorResponder.send(req.response(), new ApiError(404, ApiError.INVALID_REQUEST, "not_found", null,
        "no route for " + req.method() + " " + req.path()));
  }
}
