package dev.sluice.server;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One event loop's HTTP/2 client connections, and how a stopping gateway tells them to go away: with
 * two GOAWAY frames, as RFC 9113 6.8 suggests. The first (last stream 2^31-1) asks the client to open
 * no more streams, and every stream it opened before reading it is still taken and served; after a
 * PING's round trip, by when any such stream has arrived, the second names the last stream the
 * gateway took. The servers' shutdown then closes each connection once its streams have ended.
 *
 * <p>Why not only the one GOAWAY the shutdown sends by itself: a stream the client opened before that
 * GOAWAY reached it is refused, and the DATA frame with its body then makes Netty (4.2.18) close the
 * whole connection ("Stream N does not exist", a connection error), cutting every stream the drain
 * was letting finish. Under load a client's next stream is often on its way when the GOAWAY is.
 *
 * <p>Touched only on its event loop; an HTTP/2 request costs one set look-up, and the set changes
 * once per connection.
 */
final class Http2GoAway {
  /** How long the second GOAWAY waits for a client's PING answer at most. */
  static final long ROUND_TRIP_BOUND_MS = 1_000;
  private static final Buffer PING = Buffer.buffer(new byte[8]);

  private final Set<HttpConnection> open = new HashSet<>();

  /**
   * The connection of an HTTP/2 request; kept while it is open. Learnt from requests rather than
   * from the server's connection handler (which cost every request about 2% in CPU), so a connection
   * that has sent no request yet gets only the shutdown's own GOAWAY; it has no stream to lose.
   */
  void seen(HttpConnection c) {
    if (open.add(c)) {
      c.closeHandler(v -> open.remove(c));
    }
  }

  /**
   * Sends the first GOAWAY to every open HTTP/2 connection, then the second once each has answered a
   * PING (or after {@link #ROUND_TRIP_BOUND_MS}); the future completes when the second ones are sent.
   */
  Future<Void> goAway(Vertx vertx) {
    if (open.isEmpty()) {
      return Future.succeededFuture();
    }
    List<HttpConnection> all = List.copyOf(open);
    List<Future<?>> answered = new ArrayList<>(all.size());
    for (HttpConnection c : all) {
      c.goAway(0, Integer.MAX_VALUE);
      answered.add(c.ping(PING).recover(e -> Future.succeededFuture()));
    }
    Promise<Void> sent = Promise.promise();
    long bound = vertx.setTimer(ROUND_TRIP_BOUND_MS, t -> secondGoAway(all, sent));
    Future.join(answered).onComplete(x -> {
      vertx.cancelTimer(bound);
      secondGoAway(all, sent);
    });
    return sent.future();
  }

  private void secondGoAway(List<HttpConnection> all, Promise<Void> sent) {
    if (sent.future().isComplete()) {
      return;
    }
    for (HttpConnection c : all) {
      if (open.contains(c)) {
        c.goAway(0, -1); // -1: the last stream the client opened, which is the last one taken
      }
    }
    sent.complete();
  }
}
