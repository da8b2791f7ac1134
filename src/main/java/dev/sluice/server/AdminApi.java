package dev.sluice.server;

import dev.sluice.config.Durations;
import dev.sluice.errors.ApiError;
import dev.sluice.errors.ErrorResponder;
import dev.sluice.routing.Deployment;
import dev.sluice.store.LogFilter;
import dev.sluice.store.LogStats;
import dev.sluice.store.RequestLogReader;
import dev.sluice.telemetry.Outcome;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.StaticHandler;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The operator's HTTP surface: {@code /metrics} (Prometheus) and {@code /admin/*} (request log,
 * stats, live state), behind {@link AdminAuth}. Everything that touches the database runs on a
 * worker thread.
 */
final class AdminApi {
  /**
   * How long an export waits for a client that takes nothing before it gives up and ends the
   * response broken (a minute; tests shorten it).
   */
  static volatile long exportStallMillis = 60_000;
  private static final Set<String> REQUEST_PARAMS = Set.of("since", "until", "model", "provider", "key", "outcome",
      "limit", "cursor", "access_token");
  private static final Set<String> OUTCOMES = outcomes();
  private static final int ADMIN_BODY_LIMIT = 64 * 1024;

  private final Vertx vertx;
  private final Services s;
  private final AdminAuth auth;
  private final Live live;

  AdminApi(Vertx vertx, Services s, Live live) {
    this.vertx = vertx;
    this.s = s;
    this.live = live;
    this.auth = new AdminAuth(s.config().adminKey());
  }

  AdminAuth auth() {
    return auth;
  }

  void mount(Router r) {
    r.get("/metrics").handler(this::metrics);
    r.route("/admin/*").handler(auth);
    r.route("/admin/*").failureHandler(this::failed);
    // every other path the router gives up on: an HTTP/2 request without :authority (RFC 9113 8.3.1
    // allows it; Vert.x marks it unreadable), a path without its leading slash
    r.route().failureHandler(this::failed);
    r.get("/admin/requests").handler(this::requests);
    r.get("/admin/requests/export").handler(this::export);
    r.get("/admin/stats").handler(this::stats);
    r.get("/admin/status").handler(this::status);
    r.post("/admin/*").handler(BodyHandler.create().setBodyLimit(ADMIN_BODY_LIMIT));
    r.post("/admin/keys").handler(this::createKey);
    r.get("/admin/keys").handler(this::listKeys);
    r.delete("/admin/keys/:id").handler(this::revokeKey);
    r.post("/admin/keys/:id/revoke").handler(this::revokeKey);
    r.get("/admin/alerts").handler(this::alerts);
    r.post("/admin/alerts/:id/ack").handler(this::acknowledge);
    r.get("/admin/live").handler(ctx -> {
      if (!"websocket".equalsIgnoreCase(ctx.request().getHeader(HttpHeaders.UPGRADE))) {
        // checked here: a refused upgrade would be answered by Vert.x itself, in plain text
        bad(ctx, null, "/admin/live is a WebSocket endpoint");
        return;
      }
      ctx.request().toWebSocket()
          .onSuccess(ws -> live.hub().add(ws))
          .onFailure(t -> bad(ctx, null, "/admin/live is a WebSocket endpoint"));
    });
    r.get("/ui").handler(ctx -> {
      if (ctx.request().path().equals("/ui")) {
        ctx.redirect("/ui/");
      } else {
        ctx.next();
      }
    });
    r.route("/ui/vendor/*").handler(StaticHandler.create("META-INF/resources/webjars").setCachingEnabled(true));
    r.route("/ui/*").handler(StaticHandler.create("webroot/ui").setIndexPage("index.html").setCachingEnabled(false));
  }

  /** A request the router gave up on (a body over the limit): a 4xx in OpenAI's shape, not a logged error. */
  private void failed(RoutingContext ctx) {
    int status = ctx.statusCode();
    if (status == 413) {
      ErrorResponder.send(ctx.response(), new ApiError(413, ApiError.INVALID_REQUEST, "request_too_large", null,
          "the body is larger than the " + ADMIN_BODY_LIMIT + " bytes the admin API accepts"));
    } else if (status == 404) {
      Dispatcher.notFound(ctx.request());
    } else if (status >= 400 && status < 500) {
      ErrorResponder.send(ctx.response(), new ApiError(status, ApiError.INVALID_REQUEST, "invalid_request", null,
          "the request could not be read"));
    } else {
      ctx.next();
    }
  }

  private boolean requireKeys(RoutingContext ctx) {
    if (s.keys() == null) {
      ErrorResponder.send(ctx.response(), new ApiError(503, "store_unavailable", "keys_disabled", null,
          "keys need a store; this gateway runs with store.url: none"));
      return false;
    }
    return true;
  }

  private void createKey(RoutingContext ctx) {
    if (!requireKeys(ctx)) {
      return;
    }
    {
      KeyRequest kr;
      try {
        kr = KeyRequest.parse(ctx.body().buffer());
      } catch (ApiError.Rejection r) {
        ErrorResponder.send(ctx.response(), r.error());
        return;
      }
      vertx.executeBlocking(() -> s.keys().create(kr.name(), kr.models(), kr.rpm(), kr.tpm(), kr.maxConcurrency(),
          kr.priority(), kr.maxTokens()), false).onComplete(c -> {
            if (c.failed()) {
              String m = String.valueOf(c.cause().getMessage());
              if (m.toLowerCase(java.util.Locale.ROOT).contains("unique")) {
                ErrorResponder.send(ctx.response(), new ApiError(409, ApiError.INVALID_REQUEST, "key_name_taken",
                    "name", "a live key named '" + kr.name() + "' exists; revoke it or choose another name"));
              } else {
                storeError(ctx, "the key could not be stored", c.cause());
              }
              return;
            }
            json(ctx.response(), 201, KeyRequest.toJson(c.result().key()).put("key", c.result().secret()));
          });
    }
  }

  private void listKeys(RoutingContext ctx) {
    if (!requireKeys(ctx)) {
      return;
    }
    vertx.executeBlocking(() -> s.keys().list(), false).onComplete(ar -> {
      if (ar.failed()) {
        storeError(ctx, "the keys could not be read", ar.cause());
        return;
      }
      JsonArray data = new JsonArray();
      ar.result().forEach(k -> data.add(KeyRequest.toJson(k)));
      json(ctx.response(), 200, new JsonObject().put("object", "list").put("data", data));
    });
  }

  private void revokeKey(RoutingContext ctx) {
    if (!requireKeys(ctx)) {
      return;
    }
    String id = ctx.pathParam("id");
    vertx.executeBlocking(() -> s.keys().revoke(id), false).onComplete(ar -> {
      if (ar.failed()) {
        storeError(ctx, "the key could not be revoked", ar.cause());
      } else if (ar.result().isEmpty()) {
        ErrorResponder.send(ctx.response(), new ApiError(404, ApiError.INVALID_REQUEST, "not_found", "id",
            "no live key with id or name '" + id + "'"));
      } else {
        json(ctx.response(), 200, KeyRequest.toJson(ar.result().get()));
      }
    });
  }

  private void alerts(RoutingContext ctx) {
    var q = ctx.queryParams();
    for (String p : q.names()) {
      if (!Set.of("severity", "category", "acknowledged", "access_token").contains(p)) {
        bad(ctx, p, "unknown filter '" + p + "'; expected severity, category or acknowledged");
        return;
      }
    }
    String sev = q.get("severity");
    if (sev != null && !Set.of("info", "warning", "critical").contains(sev)) {
      bad(ctx, "severity", "severity must be info, warning or critical");
      return;
    }
    String ack = q.get("acknowledged");
    if (ack != null && !ack.equals("true") && !ack.equals("false")) {
      bad(ctx, "acknowledged", "acknowledged must be true or false");
      return;
    }
    json(ctx.response(), 200, new JsonObject().put("object", "list")
        .put("data", live.alerts().list(sev, q.get("category"), ack == null ? null : Boolean.valueOf(ack))));
  }

  private void acknowledge(RoutingContext ctx) {
    long id;
    try {
      id = Long.parseLong(ctx.pathParam("id"));
    } catch (NumberFormatException e) {
      bad(ctx, "id", "alert id must be a number");
      return;
    }
    if (!live.alerts().acknowledge(id)) {
      ErrorResponder.send(ctx.response(), new ApiError(404, ApiError.INVALID_REQUEST, "not_found", "id",
          "no alert " + id));
      return;
    }
    json(ctx.response(), 200, new JsonObject().put("id", id).put("acknowledged", true));
  }

  private void metrics(RoutingContext ctx) {
    vertx.executeBlocking(() -> s.observability().metrics().scrape(), false).onComplete(ar -> {
      if (ar.succeeded()) {
        ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8").end(ar.result());
      } else {
        ctx.fail(ar.cause());
      }
    });
  }

  private boolean requireStore(RoutingContext ctx) {
    if (s.observability().reader() == null) {
      ErrorResponder.send(ctx.response(), new ApiError(503, "store_unavailable", "request_log_disabled", null,
          "the request log is not available on this gateway"));
      return false;
    }
    return true;
  }

  private void requests(RoutingContext ctx) {
    LogFilter f = filter(ctx, true);
    if (f == null || !requireStore(ctx)) {
      return;
    }
    RequestLogReader reader = s.observability().reader();
    vertx.executeBlocking(() -> reader.page(f), false).onComplete(ar -> {
      if (ar.failed()) {
        storeError(ctx, ar.cause());
        return;
      }
      RequestLogReader.Page page = ar.result();
      json(ctx.response(), 200, new JsonObject()
          .put("object", "list")
          .put("data", new JsonArray(page.rows()))
          .put("next_cursor", page.nextCursor())
          .put("has_more", page.nextCursor() != null));
    });
  }

  /** NDJSON of any size: rows are written as the database yields them, pausing while the client is slow. */
  private void export(RoutingContext ctx) {
    LogFilter f = filter(ctx, false);
    if (f == null || !requireStore(ctx)) {
      return;
    }
    HttpServerResponse resp = ctx.response();
    resp.setChunked(true).putHeader(HttpHeaders.CONTENT_TYPE, "application/x-ndjson");
    RequestLogReader reader = s.observability().reader();
    Context loop = vertx.getOrCreateContext(); // the request's event loop: the only thread that writes to it
    vertx.executeBlocking(() -> {
      Buffer[] chunk = {Buffer.buffer(64 * 1024)};
      long n = reader.export(f, row -> {
        if (resp.closed()) {
          throw new ClientGone();
        }
        chunk[0].appendString(row.encode()).appendByte((byte) '\n');
        if (chunk[0].length() >= 60 * 1024) {
          send(loop, resp, chunk[0]);
          chunk[0] = Buffer.buffer(64 * 1024);
        }
      });
      if (chunk[0].length() > 0) {
        send(loop, resp, chunk[0]);
      }
      return n;
    }, false).onComplete(ar -> {
      if (ar.succeeded() || ar.cause() instanceof ClientGone) {
        if (!resp.closed() && !resp.ended()) {
          resp.end();
        }
      } else if (!resp.headWritten()) {
        storeError(ctx, ar.cause()); // nothing sent yet (the store could not be reached): a readable 503
      } else if (!resp.closed()) {
        resp.reset(); // the stream is under way: end it visibly broken rather than looking complete
      }
    });
  }

  /**
   * Hands a chunk from the worker thread to the request's event loop, which writes it and, when the
   * client's queue is full, sets the handlers that tell the worker to go on: a response and its
   * handlers belong to that loop, never to the worker. Waits until the loop has taken the chunk and,
   * when the queue is full, until it drains or the client goes.
   */
  private static void send(Context loop, HttpServerResponse resp, Buffer b) {
    CompletableFuture<Void> taken = new CompletableFuture<>();
    loop.runOnContext(v -> {
      if (resp.closed()) {
        taken.complete(null); // the worker's next row sees the closed response and stops
        return;
      }
      resp.write(b);
      if (resp.writeQueueFull()) {
        resp.drainHandler(x -> taken.complete(null));
        resp.closeHandler(x -> taken.complete(null));
      } else {
        taken.complete(null);
      }
    });
    try {
      taken.get(exportStallMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ClientGone();
    } catch (ExecutionException e) {
      throw new ClientGone();
    } catch (TimeoutException e) {
      // the client is still there but took nothing for a minute: not a finished export, so the
      // stream must end broken (reset), never with the last chunk as if it were whole
      throw new IllegalStateException("the client took nothing for " + exportStallMillis + " ms; export abandoned");
    }
  }

  private static final class ClientGone extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ClientGone() {
      super("client gone", null, false, false);
    }
  }

  private void stats(RoutingContext ctx) {
    // ctx.queryParams() first: it turns a malformed query (%ZZ) into a 400, which failed() answers
    // in OpenAI's shape; HttpServerRequest.getParam would throw and make it a plain-text 500
    for (String p : ctx.queryParams().names()) {
      if (!p.equals("window") && !p.equals("access_token")) {
        bad(ctx, p, "unknown parameter '" + p + "'; /admin/stats takes window");
        return;
      }
    }
    String w = ctx.queryParams().get("window") == null ? "15m" : ctx.queryParams().get("window");
    long window = Durations.parseNanos(w);
    if (window < 0 || window > 31L * 24 * 3600 * 1_000_000_000L) {
      bad(ctx, "window", "window must be a duration such as 15m, 1h or 24h (units ms, s, m, h), up to 744h"
          + " (31 days); found '" + w + "'");
      return;
    }
    if (!requireStore(ctx)) {
      return;
    }
    long now = System.currentTimeMillis();
    long since = now - window / 1_000_000;
    RequestLogReader reader = s.observability().reader();
    vertx.executeBlocking(() -> LogStats.compute(reader, since, now + 1), false).onComplete(ar -> {
      if (ar.failed()) {
        storeError(ctx, ar.cause());
      } else {
        json(ctx.response(), 200, ar.result().put("window", w));
      }
    });
  }

  private void status(RoutingContext ctx) {
    JsonArray deployments = new JsonArray();
    for (Deployment d : s.registry().deployments()) {
      deployments.add(new JsonObject()
          .put("id", d.id())
          .put("provider", d.provider().name())
          .put("in_flight", d.inFlight())
          .put("concurrency_limit", d.limiter().limit())
          .put("breaker", d.health().breakerState())
          .put("resting", d.health().resting())
          .put("first_byte_p95_ms", ms(d.health().latency(false).quantile(0.95)))
          .put("first_token_p95_ms", ms(d.health().latency(true).quantile(0.95))));
    }
    json(ctx.response(), 200, new JsonObject()
        .put("version", s.version())
        .put("transport", Transports.nameOf(vertx))
        .put("ledger", s.ledger().toJson())
        .put("request_log", logStatus())
        .put("admission", new JsonObject()
            .put("in_flight", s.admission().inFlight())
            .put("memory_pressure", s.admission().memory().refusing())
            .put("heap_after_gc", s.admission().memory().lastReading())
            .put("queues", queues()))
        .put("deployments", deployments));
  }

  private JsonObject queues() {
    JsonObject q = new JsonObject();
    s.registry().groups().forEach(g -> q.put(g.name(), g.queue().size()));
    return q;
  }

  JsonObject logStatus() {
    var log = s.observability().log();
    if (log == null) {
      return new JsonObject().put("enabled", false);
    }
    return new JsonObject()
        .put("enabled", true)
        .put("store", s.observability().database().description())
        .put("degraded", log.degraded())
        .put("last_error", log.lastError())
        .put("written", log.written())
        .put("dropped", log.dropped())
        .put("pending", log.pending())
        .put("buffer", log.capacity());
  }

  private static Double ms(long nanos) {
    return nanos < 0 ? null : nanos / 1e6;
  }

  private LogFilter filter(RoutingContext ctx, boolean paged) {
    var q = ctx.queryParams();
    for (String p : q.names()) {
      if (!REQUEST_PARAMS.contains(p) || (!paged && (p.equals("cursor") || p.equals("limit")))) {
        bad(ctx, p, "unknown filter '" + p + "'; expected some of since, until, model, provider, key, outcome"
            + (paged ? ", limit, cursor" : ""));
        return null;
      }
    }
    for (String p : new String[] {"model", "provider", "key"}) {
      String v = q.get(p);
      if (v != null && v.indexOf('\u0000') >= 0) {
        // PostgreSQL refuses U+0000 in text: the query would fail and be answered as a store outage
        bad(ctx, p, p + " must not contain a NUL character");
        return null;
      }
    }
    long since = time(ctx, "since");
    long until = time(ctx, "until");
    if (since == Long.MIN_VALUE || until == Long.MIN_VALUE) {
      return null;
    }
    String outcome = q.get("outcome");
    if (outcome != null && !OUTCOMES.contains(outcome)) {
      bad(ctx, "outcome", "unknown outcome '" + outcome + "'; expected one of " + OUTCOMES);
      return null;
    }
    int limit = 100;
    if (q.get("limit") != null) {
      try {
        limit = Integer.parseInt(q.get("limit"));
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > 1000) {
        bad(ctx, "limit", "limit must be a whole number from 1 to 1000");
        return null;
      }
    }
    long before = -1;
    if (q.get("cursor") != null) {
      before = LogFilter.decodeCursor(q.get("cursor"));
      if (before < 0) {
        bad(ctx, "cursor", "cursor is not one this gateway gave out");
        return null;
      }
    }
    return new LogFilter(since, until, q.get("model"), q.get("provider"), q.get("key"), outcome, before, limit);
  }

  /** Epoch milliseconds or ISO-8601; -1 when absent; Long.MIN_VALUE after answering 400. */
  private long time(RoutingContext ctx, String name) {
    String v = ctx.request().getParam(name);
    if (v == null) {
      return -1;
    }
    long ms;
    try {
      ms = Long.parseLong(v);
    } catch (NumberFormatException e) {
      try {
        ms = Instant.parse(v).toEpochMilli();
      } catch (DateTimeParseException | ArithmeticException e2) {
        bad(ctx, name, name + " must be epoch milliseconds or an ISO-8601 instant such as 2026-11-23T18:00:00Z");
        return Long.MIN_VALUE;
      }
    }
    if (ms < 0) {
      // a negative bound would be taken for "absent" by LogFilter (until=-7 would select everything)
      bad(ctx, name, name + " must be at or after 1970-01-01T00:00:00Z (epoch milliseconds 0 or more)");
      return Long.MIN_VALUE;
    }
    return ms;
  }

  private static void bad(RoutingContext ctx, String param, String message) {
    ErrorResponder.send(ctx.response(), ApiError.invalid("invalid_parameter", param, message));
  }

  private static void storeError(RoutingContext ctx, Throwable t) {
    storeError(ctx, "the request log could not be read", t);
  }

  /** The store failed; {@code what} says what could not be done, for the one who reads the 503. */
  private static void storeError(RoutingContext ctx, String what, Throwable t) {
    ErrorResponder.send(ctx.response(), new ApiError(503, "store_unavailable", "store_error", null,
        what + ": " + t.getMessage()));
  }

  private static void json(HttpServerResponse resp, int status, JsonObject body) {
    resp.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body.encode());
  }

  private static Set<String> outcomes() {
    java.util.Set<String> s = new java.util.LinkedHashSet<>();
    for (Outcome o : Outcome.values()) {
      s.add(o.label());
    }
    return Set.copyOf(s);
  }
}
