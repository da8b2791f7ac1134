package dev.sluice.provider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import dev.sluice.testing.RawUpstream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The gateway's HTTP/1.1 upstream pool against a real HTTP server: reuse, the order connections
 * are taken in, the size limit and its queue, idle expiry on a fake clock, and a connection that
 * must not come back (closed by the server, reset mid-exchange, never sent on).
 */
@Timeout(60)
class UpstreamPoolTest {
  private static final Duration KEEP_ALIVE = Duration.ofSeconds(60);

  private final Vertx vertx = Vertx.vertx();
  private final Context loop = vertx.getOrCreateContext();
  private final AtomicLong now = new AtomicLong();
  private final AtomicInteger opened = new AtomicInteger();
  private final AtomicInteger closed = new AtomicInteger();
  /** Server side: the client port of each request, in arrival order. */
  private final List<Integer> requestPorts = new CopyOnWriteArrayList<>();
  private final AtomicInteger serverConnections = new AtomicInteger();
  private final AtomicInteger serverCloses = new AtomicInteger();
  private final ConcurrentLinkedQueue<HttpServerRequest> held = new ConcurrentLinkedQueue<>();
  private HttpServer server;
  private UpstreamPool pool;

  @AfterEach
  void stop() {
    vertx.close().await();
  }

  private void start(int maxSize) {
    server = vertx.createHttpServer()
        .connectionHandler(c -> {
          serverConnections.incrementAndGet();
          c.closeHandler(v -> serverCloses.incrementAndGet());
        })
        .requestHandler(this::serve)
        .listen(0, "127.0.0.1").await();
    pool = pool(maxSize, UpstreamPool.Connector.of(vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true))));
  }

  private UpstreamPool pool(int maxSize, UpstreamPool.Connector connector) {
    return onLoop(() -> new UpstreamPool(vertx, connector, maxSize, KEEP_ALIVE, Duration.ofHours(1), now::get,
        new UpstreamPool.Listener() {
          @Override
          public void opened() {
            opened.incrementAndGet();
          }

          @Override
          public void closed() {
            closed.incrementAndGet();
          }
        }));
  }

  private void serve(HttpServerRequest r) {
    requestPorts.add(r.remoteAddress().port());
    switch (r.path()) {
      case "/hold" -> held.add(r); // its query, if any, names the request
      case "/close" -> r.response().putHeader("connection", "close").end("bye");
      case "/short" -> r.response().putHeader("keep-alive", "timeout=5").end("ok");
      case "/partial" -> r.response().setChunked(true).write("part");
      default -> r.response().end("ok");
    }
  }

  private <T> T onLoop(Supplier<T> action) {
    Promise<T> p = Promise.promise();
    loop.runOnContext(v -> {
      try {
        p.complete(action.get());
      } catch (RuntimeException e) {
        p.fail(e);
      }
    });
    return p.future().await();
  }

  private RequestOptions options(String path) {
    return new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(server.actualPort())
        .setURI(path).setConnectTimeout(5_000);
  }

  /** A request through the pool and its whole body; call it on the loop. */
  private Future<String> body(String uri) {
    return pool.request(options(uri))
        .compose(HttpClientRequest::send)
        .compose(HttpClientResponse::body)
        .map(Buffer::toString);
  }

  /** Sends a request from the test's thread; the body arrives on the returned future. */
  private Future<String> send(String uri) {
    Promise<String> body = Promise.promise();
    loop.runOnContext(v -> body(uri).onComplete(body));
    return body.future();
  }

  /** Sends a request through the pool and returns its whole body. */
  private String exchange(String path) {
    return send(path).await();
  }

  /** Sends a request the server holds; its answer arrives once {@link #answerHeld} runs. */
  private Future<String> hold() {
    return send("/hold");
  }

  private void sweep() {
    onLoop(() -> {
      pool.sweep();
      return null;
    });
  }

  private void answerHeld(int count) {
    await().until(() -> held.size() >= count);
    for (int i = 0; i < count; i++) {
      HttpServerRequest r = held.poll();
      r.response().end("held");
    }
  }

  private int size(Supplier<Integer> figure) {
    return onLoop(figure);
  }

  /** A pool over a provider that sends {@code 102 Processing} before each answer. */
  private UpstreamPool interimPool(RawUpstream raw, boolean skipInterim) {
    var agent = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true));
    UpstreamPool.Connector connector = skipInterim ? UpstreamPool.Connector.of(agent) : new UpstreamPool.Connector() {
      @Override
      public Future<HttpClientConnection> connect(HttpConnectOptions target) {
        return agent.connect(target); // as Vert.x hands them out: interim responses not skipped
      }

      @Override
      public Future<Void> shutdown(long timeout, TimeUnit unit) {
        return agent.shutdown(timeout, unit);
      }
    };
    return pool(4, connector);
  }

  private Future<HttpClientResponse> interimExchange(UpstreamPool p, RawUpstream raw) {
    Promise<HttpClientResponse> done = Promise.promise();
    loop.runOnContext(v -> p.request(new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1")
            .setPort(raw.port()).setURI("/v1/x").setConnectTimeout(5_000))
        .compose(HttpClientRequest::send)
        .compose(r -> r.end().map(r))
        .onComplete(done));
    return done.future();
  }

  @Test
  void anInterimResponseIsSkippedAndTheConnectionServesTheNextExchange() {
    try (RawUpstream raw = new RawUpstream(RawUpstream.Mode.INTERIM_THEN_OK)) {
      UpstreamPool p = interimPool(raw, true);
      for (int i = 0; i < 2; i++) {
        assertThat(interimExchange(p, raw).await().statusCode()).isEqualTo(200);
      }
      assertThat(opened.get()).as("one connection for both").isEqualTo(1);
    }
  }

  @Test
  void aConnectionWhoseExchangeEndedOnAnInterimResponseIsNotTakenAgain() {
    try (RawUpstream raw = new RawUpstream(RawUpstream.Mode.INTERIM_THEN_OK)) {
      UpstreamPool p = interimPool(raw, false);
      assertThat(interimExchange(p, raw).await().statusCode()).isEqualTo(102);
      // at once, while the first answer is still to come on the first connection (for 300 ms):
      // were that connection reused, this exchange would read the first one's 200
      assertThat(interimExchange(p, raw).await().statusCode()).isEqualTo(102);
      assertThat(opened.get()).isEqualTo(2);
      await().until(() -> closed.get() >= 1);
    }
  }

  @Test
  void anAnswerEndedByItsConnectionsCloseDoesNotHandThatConnectionToAWaitingRequest() {
    try (RawUpstream raw = new RawUpstream(RawUpstream.Mode.OK_UNTIL_CLOSE)) {
      pool = pool(1, UpstreamPool.Connector.of(vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true))));
      RequestOptions o = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(raw.port())
          .setURI("/v1/x").setConnectTimeout(5_000);
      // in one turn of the loop: the second waits for the pool's one connection, and is due the next one
      List<Future<String>> both = onLoop(() -> List.of(rawBody(o), rawBody(o)));
      for (Future<String> f : both) {
        assertThat(f.await()).contains("raw answer");
      }
      assertThat(raw.requests()).isEqualTo(2);
      assertThat(opened.get()).isEqualTo(2);
    }
  }

  private Future<String> rawBody(RequestOptions o) {
    return pool.request(o).compose(HttpClientRequest::send).compose(HttpClientResponse::body).map(Buffer::toString);
  }

  @Test
  void sequentialExchangesShareOneConnection() {
    start(8);
    for (int i = 0; i < 5; i++) {
      assertThat(exchange("/")).isEqualTo("ok");
    }
    assertThat(serverConnections.get()).isEqualTo(1);
    assertThat(requestPorts).hasSize(5).containsOnly(requestPorts.get(0));
    assertThat(size(pool::open)).isEqualTo(1);
    assertThat(size(pool::idle)).isEqualTo(1);
    assertThat(opened.get()).isEqualTo(1);
  }

  @Test
  void aRequestMadeAsAnExchangeEndsTakesThatExchangesConnection() {
    start(8);
    Promise<String> retry = Promise.promise();
    // what an attempt that fails on an error status does: its owner retries from the end handler,
    // before the pool has had the connection back
    loop.runOnContext(v -> pool.request(options("/")).compose(HttpClientRequest::send).onSuccess(resp -> {
      resp.handler(chunk -> { });
      resp.endHandler(end -> body("/").onComplete(retry));
    }));
    assertThat(retry.future().await()).isEqualTo("ok");
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5))
        .until(() -> serverConnections.get() == 1 && opened.get() == 1);
  }

  @Test
  void theConnectionReleasedLastIsTakenFirst() {
    start(8);
    Future<String> a = hold();
    Future<String> b = hold();
    Future<String> c = hold();
    await().until(() -> held.size() == 3);
    assertThat(serverConnections.get()).isEqualTo(3);
    HttpServerRequest last = null;
    for (int i = 0; i < 3; i++) {
      last = held.poll();
      last.response().end("held");
    }
    int lastPort = last.remoteAddress().port();
    Future.all(a, b, c).await();
    await().until(() -> size(pool::idle) == 3);

    assertThat(exchange("/")).isEqualTo("ok");
    assertThat(requestPorts.get(requestPorts.size() - 1)).isEqualTo(lastPort);
    assertThat(serverConnections.get()).isEqualTo(3);
  }

  @Test
  void atTheSizeLimitRequestsWaitForAConnectionInArrivalOrder() {
    start(1);
    Future<String> a = send("/hold?a");
    await().until(() -> held.size() == 1);
    Future<String> b = send("/hold?b");
    await().until(() -> size(pool::waiting) == 1);
    Future<String> c = send("/hold?c");
    await().until(() -> size(pool::waiting) == 2);

    for (String next : List.of("b", "c")) {
      HttpServerRequest r = held.poll();
      r.response().end(r.query());
      await().until(() -> held.size() == 1);
      assertThat(held.peek().query()).isEqualTo(next);
    }
    held.poll().response().end("c");
    assertThat(List.of(a.await(), b.await(), c.await())).containsExactly("a", "b", "c");
    assertThat(serverConnections.get()).isEqualTo(1);
    assertThat(size(pool::waiting)).isZero();
  }

  @Test
  void finishedWaitersDoNotPileUpWhileThePoolIsFull() {
    start(1);
    List<Future<String>> all = new java.util.ArrayList<>();
    onLoop(() -> {
      for (int i = 0; i < 200; i++) {
        all.add(body("/"));
      }
      return null;
    });
    Future.all(all).await();
    assertThat(serverConnections.get()).isEqualTo(1);
    assertThat(size(pool::waiting)).isZero();
    assertThat(size(pool::queued)).isLessThanOrEqualTo(32);
  }

  @Test
  void aRequestWaitsNoLongerThanItsConnectTimeout() {
    start(1);
    Future<String> a = hold();
    await().until(() -> held.size() == 1);
    Future<HttpClientRequest> late = Future.future(p -> loop.runOnContext(v ->
        pool.request(options("/").setConnectTimeout(50)).onComplete(p)));

    assertThatThrownBy(late::await).isInstanceOf(TimeoutException.class);
    assertThat(size(pool::waiting)).isZero();
    answerHeld(1);
    assertThat(a.await()).isEqualTo("held");
    assertThat(exchange("/")).isEqualTo("ok");
  }

  @Test
  void connectionsIdleBeyondKeepAliveAreClosedOldestFirst() {
    start(8);
    Future<String> a = hold();
    Future<String> b = hold();
    await().until(() -> held.size() == 2);
    answerHeld(1);
    await().until(() -> size(pool::idle) == 1); // released on this clock reading
    now.addAndGet(TimeUnit.SECONDS.toNanos(10));
    answerHeld(1);
    Future.all(a, b).await();
    await().until(() -> size(pool::idle) == 2);

    now.addAndGet(KEEP_ALIVE.toNanos() - TimeUnit.SECONDS.toNanos(10) - 1);
    sweep();
    assertThat(size(pool::idle)).isEqualTo(2);

    now.addAndGet(1);
    sweep();
    await().until(() -> size(pool::open) == 1 && serverCloses.get() == 1);
    assertThat(size(pool::idle)).isEqualTo(1);

    now.addAndGet(TimeUnit.SECONDS.toNanos(10));
    sweep();
    await().until(() -> size(pool::open) == 0 && serverCloses.get() == 2);
    assertThat(closed.get()).isEqualTo(opened.get()).isEqualTo(2);
  }

  @Test
  void aServersKeepAliveTimeoutShortensTheIdleTime() {
    start(8);
    assertThat(exchange("/short")).isEqualTo("ok");
    await().until(() -> size(pool::idle) == 1); // released on this clock reading
    now.addAndGet(TimeUnit.SECONDS.toNanos(5));
    sweep();
    await().until(() -> size(pool::open) == 0);
  }

  @Test
  void aConnectionTheServerClosesIsNotTakenAgain() {
    start(8);
    assertThat(exchange("/close")).isEqualTo("bye");
    assertThat(exchange("/")).isEqualTo("ok");
    assertThat(serverConnections.get()).isEqualTo(2);
    await().until(() -> size(pool::open) == 1);
    assertThat(size(pool::idle)).isEqualTo(1);
  }

  @Test
  void idleConnectionsClosedByTheServerLeaveThePool() {
    start(8);
    assertThat(exchange("/")).isEqualTo("ok");
    server.close().await(); // closes the server's end of every connection
    await().until(() -> size(pool::open) == 0);
    assertThat(size(pool::idle)).isZero();
    assertThat(closed.get()).isEqualTo(1);
  }

  @Test
  void aRequestResetBeforeItIsWrittenLeavesItsConnectionInThePool() {
    start(1);
    onLoop(() -> pool.request(options("/"))).await().reset();
    await().until(() -> size(pool::idle) == 1);
    assertThat(size(pool::open)).isEqualTo(1);
    assertThat(exchange("/")).isEqualTo("ok");
    assertThat(serverConnections.get()).as("the same connection carried the next request").isEqualTo(1);
    assertThat(requestPorts).hasSize(1);
  }

  @Test
  void anExchangeResetMidResponseGivesItsConnectionUp() {
    start(1);
    Promise<HttpClientResponse> headers = Promise.promise();
    loop.runOnContext(v -> pool.request(options("/partial"))
        .compose(r -> r.send().onSuccess(resp -> resp.handler(chunk -> r.reset())))
        .onComplete(headers));
    headers.future().await();
    await().until(() -> size(pool::open) == 0 && serverCloses.get() == 1);
    assertThat(exchange("/")).isEqualTo("ok");
    assertThat(serverConnections.get()).isEqualTo(2);
  }

  @Test
  void aFailedConnectFailsTheRequestAndFreesItsPlace() {
    start(1);
    // port 1: nothing listens there, and no connect can take it as its own source port (a closed
    // ephemeral port can be taken by another process, or by the connect itself, and then answer)
    Future<HttpClientRequest> refused = Future.future(p -> loop.runOnContext(v ->
        pool.request(options("/").setPort(1)).onComplete(p)));

    assertThatThrownBy(refused::await).isNotInstanceOf(TimeoutException.class);
    assertThat(size(pool::open)).isZero();
    assertThat(size(pool::waiting)).isZero();
    assertThat(opened.get()).isZero();
    // the pool's one place is free again: the next request connects (and is refused) rather than
    // waiting for a place until its connect timeout
    Future<HttpClientRequest> again = Future.future(p -> loop.runOnContext(v ->
        pool.request(options("/").setPort(1).setConnectTimeout(2_000)).onComplete(p)));
    assertThatThrownBy(again::await).isNotInstanceOf(TimeoutException.class);
    for (int i = 0; i < 100; i++) {
      Future<HttpClientRequest> refusedAgain = Future.future(p -> loop.runOnContext(v ->
          pool.request(options("/").setPort(1)).onComplete(p)));
      assertThatThrownBy(refusedAgain::await).isNotInstanceOf(TimeoutException.class);
    }
    assertThat(size(pool::queued)).as("failed requests do not stay queued").isLessThanOrEqualTo(32);
  }

  @Test
  void aFailedConnectFailsOnlyTheRequestItWasOpenedFor() {
    // connects that end when the test says so
    ConcurrentLinkedQueue<Promise<HttpClientConnection>> connects = new ConcurrentLinkedQueue<>();
    pool = pool(8, new UpstreamPool.Connector() {
      @Override
      public Future<HttpClientConnection> connect(HttpConnectOptions target) {
        Promise<HttpClientConnection> p = Promise.promise();
        connects.add(p);
        return p.future();
      }

      @Override
      public Future<Void> shutdown(long timeout, TimeUnit unit) {
        return Future.succeededFuture();
      }
    });
    RequestOptions target = new RequestOptions().setHost("127.0.0.1").setPort(1).setURI("/");
    Future<HttpClientRequest> first = onLoop(() -> pool.request(new RequestOptions(target).setConnectTimeout(50)));
    assertThatThrownBy(first::await).isInstanceOf(TimeoutException.class); // gave up; its connect goes on
    Future<HttpClientRequest> second = onLoop(() -> pool.request(new RequestOptions(target).setConnectTimeout(60_000)));
    // the pool starts a connect once the loop's current turn is over, so it may come just after
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(connects).hasSize(2));

    Promise<HttpClientConnection> firstConnect = connects.poll();
    onLoop(() -> firstConnect.tryFail(new java.net.ConnectException("the first request's connect")));
    assertThat(size(pool::waiting)).as("the second request still waits for its own connect").isEqualTo(1);
    assertThat(second.isComplete()).isFalse();

    Promise<HttpClientConnection> secondConnect = connects.poll();
    onLoop(() -> secondConnect.tryFail(new java.net.ConnectException("the second request's connect")));
    assertThatThrownBy(second::await).hasMessage("the second request's connect");
    assertThat(size(pool::waiting)).isZero();
  }

  @Test
  void shutdownFailsWaitingRequestsAndClosesEveryConnection() {
    start(1);
    assertThat(exchange("/")).isEqualTo("ok");
    Future<String> a = hold();
    await().until(() -> held.size() == 1);
    Future<HttpClientRequest> waiting = Future.future(p -> loop.runOnContext(v ->
        pool.request(options("/")).onComplete(p)));
    await().until(() -> size(pool::waiting) == 1);

    onLoop(() -> pool.shutdown(0, TimeUnit.SECONDS));
    assertThatThrownBy(waiting::await).hasMessageContaining("shut down");
    assertThatThrownBy(a::await).isInstanceOf(io.vertx.core.http.HttpClosedException.class);
    await().until(() -> size(pool::open) == 0 && serverCloses.get() == 1);
    assertThat(closed.get()).isEqualTo(opened.get());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "-", value = {
      "HTTP_1_1|-|-|-1",
      "HTTP_1_1|close|-|0",
      "HTTP_1_1|Close|timeout=5|0",
      "HTTP_1_1|keep-alive|timeout=5|5",
      "HTTP_1_1|-|timeout=0|0",
      "HTTP_1_1|-|max=100|-1",
      "HTTP_1_0|-|-|0",
      "HTTP_1_0|keep-alive|-|-1",
      "HTTP_1_0|Keep-Alive|timeout=7|7",
  })
  void howLongTheServerKeepsTheConnection(HttpVersion version, String connection, String keepAlive, long seconds) {
    assertThat(UpstreamPool.keepAliveSeconds(version, connection, keepAlive)).isEqualTo(seconds);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "timeout=5|5",
      "timeout=5, max=100|5",
      "max=100,  TIMEOUT = 7|-1",
      "max=100, Timeout=7|7",
      "timeout=x|-1",
      "max=100|-1",
  })
  void keepAliveHeaderTimeout(String header, long seconds) {
    assertThat(UpstreamPool.keepAliveTimeout(header)).isEqualTo(seconds);
  }
}
