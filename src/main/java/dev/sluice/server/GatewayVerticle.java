package dev.sluice.server;

import dev.sluice.provider.UpstreamClients;
import dev.sluice.provider.UpstreamConnections;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;

/**
 * One event loop's share of the gateway: its own HTTP server (the port is shared between event
 * loops) and its own upstream clients, so a request and its upstream exchange stay on one thread.
 */
final class GatewayVerticle extends VerticleBase {
  private final Services services;
  private final Live live;
  private final String host;
  private final int port;
  private final UpstreamConnections connections;
  private HttpServer server;
  private UpstreamClients clients;
  private final Http2GoAway http2 = new Http2GoAway();
  private Future<?> told = Future.succeededFuture();

  GatewayVerticle(Services services, Live live, String host, int port, UpstreamConnections connections) {
    this.services = services;
    this.connections = connections;
    this.live = live;
    this.host = host;
    this.port = port;
  }

  @Override
  public Future<?> start() {
    java.util.Map<String, Long> longest = new java.util.HashMap<>();
    services.config().models().values().forEach(m -> m.deployments().forEach(d ->
        longest.merge(d.provider(), d.timeouts().connect().toMillis(), Math::max)));
    clients = new UpstreamClients(vertx, services.config().providers().values(), longest, connections);
    HttpServerOptions options = new HttpServerOptions()
        .setTcpNoDelay(true)
        .setTcpFastOpen(true)
        // a connection silent for longer than any request may last is a stuck or hostile client
        .setIdleTimeout(idleSeconds())
        .setIdleTimeoutUnit(java.util.concurrent.TimeUnit.SECONDS)
        .setMaxInitialLineLength(8192)
        .setHandle100ContinueAutomatically(false)
        .setCompressionSupported(false)
        // the one the dashboard offers next to the one carrying its key (see AdminAuth)
        .setWebSocketSubProtocols(java.util.List.of(AdminAuth.LIVE_PROTOCOL));
    server = vertx.createHttpServer(options);
    Router router = Router.router(vertx);
    new AdminApi(vertx, services, live).mount(router);
    router.route().handler(ctx -> Dispatcher.notFound(ctx.request()));
    // HTTP/2 connections are learnt from their requests (Dispatcher), not from a connection handler:
    // with one set, Vert.x's server cost about 2% more CPU per request (paired, bench/ab.sh)
    return server.requestHandler(new Dispatcher(services, clients, router, http2)).listen(port, host);
  }

  /**
   * The gateway cap plus a margin. In skip mode nothing bounds a request but its attempt guards
   * and the client's own budget, either of which may exceed any fixed value: a silent connection
   * is then not closed by the server (a non-stream answer sends nothing until it is complete).
   */
  private int idleSeconds() {
    var d = services.config().deadline();
    if (d.skip()) {
      return 0;
    }
    return (int) Math.min(Integer.MAX_VALUE, d.cap().toSeconds() + 30);
  }

  int actualPort() {
    return server.actualPort();
  }

  /**
   * Tells HTTP/2 clients to open no more streams ({@link Http2GoAway}), then stops accepting
   * connections and closes the idle ones; a connection with a request in progress is closed once its
   * response ends, or after {@code timeoutMillis}. Completes when every connection is closed.
   */
  Future<?> shutdown(long timeoutMillis) {
    if (server == null) {
      return Future.succeededFuture();
    }
    told = http2.goAway(vertx);
    return told.compose(v -> server.shutdown(timeoutMillis, java.util.concurrent.TimeUnit.MILLISECONDS));
  }

  /**
   * Completes once {@link #shutdown} has sent every HTTP/2 client its last GOAWAY; the listener's
   * close is started by that same completion, on this event loop, before the caller hears of it.
   * From then on no new request is taken, so a drain that finds none in flight is over.
   */
  Future<?> shutdownBegun() {
    return told;
  }

  @Override
  public Future<?> stop() {
    // a start that failed part-way may have left either unset
    Future<Void> closed = server == null ? Future.succeededFuture() : server.close();
    return clients == null ? closed : closed.compose(v -> clients.close());
  }
}
