package dev.sluice.provider;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

/**
 * The HTTP/1.1 connections of one provider on one event loop, picked in constant time.
 *
 * <p>Vert.x's own pool looks at every pooled connection to pick one for each request, so after a
 * burst every request pays for every idle connection the burst left (docs/operations.md, "The
 * upstream pool after a burst"). This pool keeps its idle connections on a stack: a request takes
 * the one released last (warm, and the least likely to have been closed by the server), and the
 * ones at the bottom, idle longest, are closed once they have been idle for the keep-alive time.
 *
 * <p>A connection is busy from the moment a request takes it until that request's response has
 * ended; it goes back on the stack then, unless the server asked to close it. A request reset
 * before anything of it was written (its attempt ended while it waited) gives the connection back
 * too; one reset or failed mid-exchange closes it, so a connection never returns with an exchange
 * half done. When {@code maxSize} connections are open or being opened, requests wait in arrival
 * order, each no longer than its {@link RequestOptions#getConnectTimeout()}.
 *
 * <p>Lives on one event loop, like the requests it serves; not thread-safe.
 */
public final class UpstreamPool implements HttpClient {
  /** Opens the pool's connections; Vert.x's un-pooled {@link HttpClientAgent#connect} in production. */
  public interface Connector {
    Future<HttpClientConnection> connect(HttpConnectOptions target);

    /** Closes what the connector holds; called once, when the pool is shut down. */
    Future<Void> shutdown(long timeout, TimeUnit unit);

    /** The connections of {@code agent}, whose options set TLS, keep-alive and the TCP connect timeout. */
    static Connector of(HttpClientAgent agent) {
      return new Connector() {
        @Override
        public Future<HttpClientConnection> connect(HttpConnectOptions target) {
          // before the first request is written, so before any answer can arrive
          return agent.connect(target).andThen(ar -> {
            if (ar.succeeded()) {
              UpstreamResponseGate.install(ar.result());
            }
          });
        }

        @Override
        public Future<Void> shutdown(long timeout, TimeUnit unit) {
          return agent.shutdown(timeout, unit);
        }
      };
    }
  }

  /** Told when a connection opens and when it closes. */
  public interface Listener {
    void opened();

    void closed();
  }

  private static final class Conn {
    final HttpClientConnection http;
    long idleSince;
    long keepAliveNanos;
    /** On the stack and free; never true once {@link #closed}. */
    boolean idle;
    boolean closed;

    Conn(HttpClientConnection http, long keepAliveNanos) {
      this.http = http;
      this.keepAliveNanos = keepAliveNanos;
    }
  }

  /** A request waiting for a connection; once served, expired or failed it is done. */
  private static final class Waiter {
    final RequestOptions options;
    final Promise<HttpClientRequest> promise;
    long timer = -1;
    boolean done;

    Waiter(RequestOptions options, Promise<HttpClientRequest> promise) {
      this.options = options;
      this.promise = promise;
    }
  }

  private final Vertx vertx;
  private final Connector connector;
  private final int maxSize;
  private final long keepAliveNanos;
  private final LongSupplier clock;
  private final Listener listener;
  /** Idle connections, the one released last first; entries no longer idle are skipped when met. */
  private final ArrayDeque<Conn> idle = new ArrayDeque<>();
  /** Waiting requests in arrival order; done ones are skipped when met. */
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
  /** Waiting requests no connection is being opened for, in arrival order; done ones are skipped. */
  private final ArrayDeque<Waiter> unconnected = new ArrayDeque<>();
  private final long sweeper;
  private HttpConnectOptions target;
  private int open;
  private int connecting;
  private int idleCount;
  private int waiting;
  private boolean shut;

  /**
   * @param connector      opens the connections; the pool shuts it down when it is shut down
   * @param maxSize        connections open or being opened at most
   * @param keepAlive      how long a connection may stay idle before the pool closes it
   * @param sweepEvery     how often idle connections are checked against {@code keepAlive}
   * @param clock          nanoseconds, for idle times
   */
  public UpstreamPool(Vertx vertx, Connector connector, int maxSize, Duration keepAlive,
      Duration sweepEvery, LongSupplier clock, Listener listener) {
    if (maxSize < 1) {
      throw new IllegalArgumentException("maxSize must be at least 1");
    }
    this.vertx = vertx;
    this.connector = connector;
    this.maxSize = maxSize;
    this.keepAliveNanos = keepAlive.toNanos();
    this.clock = clock;
    this.listener = listener;
    this.sweeper = vertx.setPeriodic(Math.max(1, sweepEvery.toMillis()), id -> sweep());
  }

  @Override
  public Future<HttpClientRequest> request(RequestOptions options) {
    if (shut) {
      return Future.failedFuture(new IllegalStateException("the upstream pool is shut down"));
    }
    Conn c = takeIdle();
    if (c != null) {
      // a connection closed in the same moment (its close not yet reported) refuses the request:
      // the next one is tried; any other failure is the request's own
      return requestOn(c, options).recover(t -> t instanceof HttpClosedException
          ? request(options) : Future.failedFuture(t));
    }
    Promise<HttpClientRequest> promise = Promise.promise();
    Waiter w = new Waiter(options, promise);
    waiters.addLast(w);
    waiting++;
    long wait = options.getConnectTimeout();
    if (wait > 0) {
      w.timer = vertx.setTimer(wait, id -> {
        if (finish(w)) {
          w.promise.fail(new TimeoutException("no upstream connection within " + wait + " ms"));
        }
      });
    }
    if (open + connecting < maxSize) {
      // The place is taken now, the connect starts once this turn of the event loop is over: a
      // retry made from the end of a failed exchange runs before that exchange's connection comes
      // back, and would otherwise open a connection while a good one is about to be free.
      connecting++;
      vertx.runOnContext(v -> {
        connecting--;
        if (!w.done && !shut) {
          connect(w);
        } else {
          connectForWaiters();
        }
      });
    } else {
      unconnected.addLast(w);
    }
    return promise.future();
  }

  private Conn takeIdle() {
    Conn c;
    while ((c = idle.pollFirst()) != null) {
      if (leaveIdle(c)) {
        return c;
      }
    }
    return null;
  }

  /** Marks {@code c} no longer idle; false if it was not (taken, or closed, since it was stacked). */
  private boolean leaveIdle(Conn c) {
    if (!c.idle) {
      return false;
    }
    c.idle = false;
    idleCount--;
    return true;
  }

  /** A request on connection {@code c}, which is busy from now on until the exchange ends. */
  private Future<HttpClientRequest> requestOn(Conn c, RequestOptions options) {
    return c.http.request(options).andThen(ar -> {
      if (ar.failed()) {
        c.http.close();
        return;
      }
      ar.result().response().onComplete(resp -> {
        if (resp.failed()) {
          if (c.http.activeStreams() == 0) {
            // reset before it was written (an attempt that ended while it waited for this
            // connection): the connection carried nothing and stays good
            release(c);
          } else {
            c.http.close(); // reset or failed mid-exchange: what is left on the wire is unknown
          }
        } else {
          HttpClientResponse response = resp.result();
          response.end().onComplete(end -> {
            // an interim 1xx is not the end of the exchange: its final response is still to come
            if (end.succeeded() && response.statusCode() >= 200 && framed(response)
                && reusable(c, response.version(), response.getHeader(HttpHeaders.CONNECTION),
                response.getHeader(HttpHeaders.KEEP_ALIVE))) {
              release(c);
            } else {
              c.http.close();
            }
          });
        }
      });
    });
  }

  /**
   * Whether the answer's end was marked by its length or its chunked coding. One without either ends
   * with the connection (RFC 9112 6.3): its end is the server's close, whose report may come after
   * it, so the connection must not be handed on as if it were free.
   */
  private static boolean framed(HttpClientResponse response) {
    int status = response.statusCode();
    if (status == 204 || status == 304 || response.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
      return true;
    }
    String coding = response.getHeader(HttpHeaders.TRANSFER_ENCODING);
    return coding != null && coding.regionMatches(true, coding.length() - 7, "chunked", 0, 7);
  }

  private static boolean reusable(Conn c, HttpVersion version, String connection, String keepAlive) {
    long seconds = keepAliveSeconds(version, connection, keepAlive);
    if (seconds > 0) {
      c.keepAliveNanos = Math.min(c.keepAliveNanos, TimeUnit.SECONDS.toNanos(seconds));
    }
    return seconds != 0;
  }

  /**
   * How long the server keeps a connection after this response, from its version and its
   * {@code Connection} and {@code Keep-Alive} headers: 0 when it may not carry another request,
   * -1 when the server does not say.
   */
  static long keepAliveSeconds(HttpVersion version, String connection, String keepAlive) {
    if (connection != null && connection.equalsIgnoreCase("close")) {
      return 0;
    }
    if (version == HttpVersion.HTTP_1_0 && (connection == null || !connection.equalsIgnoreCase("keep-alive"))) {
      return 0;
    }
    return keepAlive == null ? -1 : keepAliveTimeout(keepAlive);
  }

  /** The {@code timeout=N} of a {@code Keep-Alive} header, or -1. */
  static long keepAliveTimeout(String header) {
    for (String part : header.split(",")) {
      String p = part.trim();
      if (p.regionMatches(true, 0, "timeout=", 0, 8)) {
        try {
          return Long.parseLong(p.substring(8).trim());
        } catch (NumberFormatException e) {
          return -1;
        }
      }
    }
    return -1;
  }

  private void release(Conn c) {
    if (c.closed) {
      return;
    }
    if (shut) {
      c.http.close();
      return;
    }
    Waiter w;
    while ((w = waiters.pollFirst()) != null) {
      if (finish(w)) {
        serve(w, c);
        return;
      }
    }
    c.idle = true;
    c.idleSince = clock.getAsLong();
    idleCount++;
    idle.addFirst(c);
  }

  private void serve(Waiter w, Conn c) {
    // the connection is fresh or has just ended an exchange: not one the server closed while idle
    requestOn(c, w.options).onComplete(w.promise);
  }

  /**
   * Marks a waiting request done (true) unless it was already, and stops its timer. Done requests
   * are dropped from both queues lazily: from their fronts at once, and all of them whenever they
   * are most of a queue, so neither queue holds more than twice the requests still waiting.
   */
  private boolean finish(Waiter w) {
    if (w.done) {
      return false;
    }
    w.done = true;
    waiting--;
    if (w.timer >= 0) {
      vertx.cancelTimer(w.timer);
    }
    tidy(waiters);
    tidy(unconnected);
    return true;
  }

  private void tidy(ArrayDeque<Waiter> queue) {
    while (!queue.isEmpty() && queue.peekFirst().done) {
      queue.pollFirst();
    }
    if (queue.size() > 2 * waiting + 16) {
      queue.removeIf(q -> q.done);
    }
  }

  /** Opens connections for waiting requests that have none coming, as far as the size allows. */
  private void connectForWaiters() {
    Waiter w;
    while (!shut && open + connecting < maxSize && (w = unconnected.pollFirst()) != null) {
      if (!w.done) {
        connect(w);
      }
    }
  }

  /**
   * Opens a connection for {@code owner}. It serves the owner if it still waits, else whoever
   * waits longest. If it fails, only its owner fails: a request does not inherit the failure of a
   * connection opened for another one, which may have been started long before it arrived.
   */
  private void connect(Waiter owner) {
    if (target == null) {
      target = new HttpConnectOptions().setHost(owner.options.getHost()).setPort(owner.options.getPort())
          .setSsl(owner.options.isSsl());
    }
    connecting++;
    connector.connect(target).onComplete(ar -> {
      connecting--;
      if (ar.failed()) {
        if (finish(owner)) {
          owner.promise.fail(ar.cause());
        }
        connectForWaiters();
        return;
      }
      Conn c = new Conn(ar.result(), keepAliveNanos);
      open++;
      listener.opened();
      c.http.closeHandler(v -> onClosed(c));
      if (shut) {
        c.http.close();
      } else if (finish(owner)) {
        serve(owner, c);
      } else {
        release(c);
      }
    });
  }

  private void onClosed(Conn c) {
    if (c.closed) {
      return;
    }
    c.closed = true;
    leaveIdle(c);
    open--;
    listener.closed();
    connectForWaiters();
  }

  /** Closes the connections idle longer than their keep-alive time: they are at the bottom. */
  void sweep() {
    long now = clock.getAsLong();
    Conn c;
    while ((c = idle.peekLast()) != null && (!c.idle || now - c.idleSince >= c.keepAliveNanos)) {
      idle.pollLast();
      if (leaveIdle(c)) {
        c.http.close();
      }
    }
  }

  /** Connections open now, idle or busy. */
  public int open() {
    return open;
  }

  /** Connections open and waiting for a request. */
  public int idle() {
    return idleCount;
  }

  /** Requests waiting for a connection. */
  public int waiting() {
    return waiting;
  }

  /** Entries in the pool's queues, done ones included: bounded by twice the waiting requests plus a few. */
  int queued() {
    return waiters.size() + unconnected.size();
  }

  @Override
  public Future<Void> shutdown(long timeout, TimeUnit unit) {
    shut = true;
    vertx.cancelTimer(sweeper);
    Waiter w;
    while ((w = waiters.pollFirst()) != null) {
      if (finish(w)) {
        w.promise.fail(new IllegalStateException("the upstream pool is shut down"));
      }
    }
    unconnected.clear();
    Conn c;
    while ((c = idle.pollFirst()) != null) {
      if (leaveIdle(c)) {
        c.http.close();
      }
    }
    return connector.shutdown(timeout, unit);
  }
}
