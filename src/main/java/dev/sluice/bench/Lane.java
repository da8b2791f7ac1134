package dev.sluice.bench;

import dev.sluice.provider.UpstreamClients;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemTrustOptions;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One event loop's share of the timetable (requests {@code index}, {@code index + lanes}, ...),
 * with its own connection pool. A timer wakes the lane at each request's intended instant; every
 * request then due is started at once, whether or not earlier ones have been answered.
 */
final class Lane extends VerticleBase {
  /** Requests due within this much of now are sent in the same wake-up rather than after a timer. */
  private static final long SLACK_NANOS = 20_000;
  /** Self-warm requests one lane keeps in flight at once. */
  static final int WARM_IN_FLIGHT = 8;

  private final BenchSpec spec;
  private final Schedule schedule;
  private final int index;
  private final Map<String, String> headers;
  private final LiveCounters live;
  private final Recorder measured = new Recorder();
  private final Recorder warmup = new Recorder();
  private final Promise<Recorder> done = Promise.promise();

  private Context context;
  private HttpClientAgent client;
  private RequestOptions options;
  private Buffer body;
  private long startNanos;
  private long next;
  private long inFlight;

  Lane(BenchSpec spec, int index, Map<String, String> headers, LiveCounters live) {
    this.spec = spec;
    this.schedule = spec.schedule();
    this.index = index;
    this.headers = headers;
    this.live = live;
    this.next = index;
  }

  @Override
  public Future<?> start() {
    context = vertx.getOrCreateContext();
    int share = (spec.connections() + spec.lanes() - 1 - index) / spec.lanes();
    HttpClientOptions http = new HttpClientOptions()
        .setProtocolVersion(HttpVersion.HTTP_1_1)
        .setKeepAlive(true)
        .setKeepAliveTimeout(120)
        .setPipelining(false)
        .setTcpNoDelay(true)
        .setIdleTimeout(0)
        .setName("sluice-bench-" + index);
    if (spec.tls()) {
      http.setSsl(true).setForceSni(UpstreamClients.sniFor(spec.target().getHost()));
      if (spec.caFile() != null) {
        http.setTrustOptions(new PemTrustOptions().addCertPath(spec.caFile().toString()));
      }
    }
    client = vertx.httpClientBuilder()
        .with(http)
        .with(new PoolOptions().setHttp1MaxSize(Math.max(1, share)).setMaxWaitQueueSize(-1))
        .build();
    URI uri = spec.requestUri();
    options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(uri.toString())
        .setConnectTimeout(spec.timeoutNanos() / 1_000_000)
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(HttpHeaders.ACCEPT, spec.stream() ? "text/event-stream" : "application/json");
    headers.forEach(options::putHeader);
    body = Buffer.buffer(RequestBody.json(spec));
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    return client.close();
  }

  /**
   * Sends {@code n} requests (at most {@link #WARM_IN_FLIGHT} at a time) through this lane's request
   * path to the generator's own {@link SelfWarm} server at {@code port}, before the timetable, on a
   * client of their own; nothing of it is counted in the run. The future holds what they recorded.
   */
  Future<Recorder> selfWarm(int port, int n) {
    Promise<Recorder> warmed = Promise.promise();
    context.runOnContext(v -> {
      Recorder rec = new Recorder();
      if (n <= 0) {
        warmed.complete(rec);
        return;
      }
      HttpClientAgent local = vertx.httpClientBuilder()
          .with(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true).setName("sluice-bench-warm-" + index))
          .with(new PoolOptions().setHttp1MaxSize(WARM_IN_FLIGHT))
          .build();
      RequestOptions to = new RequestOptions(options).setAbsoluteURI("http://127.0.0.1:" + port + "/v1/chat/completions");
      long[] counts = new long[2]; // sent, ended
      Runnable[] next = new Runnable[1];
      next[0] = () -> {
        while (counts[0] < n && counts[0] - counts[1] < WARM_IN_FLIGHT) {
          counts[0]++;
          new Exchange(vertx, local, to, body, spec.stream(), System.nanoTime(), spec.timeoutNanos(), rec,
              System::nanoTime, ok -> {
                counts[1]++;
                if (counts[1] == n) {
                  local.close().onComplete(c -> warmed.complete(rec));
                } else {
                  next[0].run();
                }
              }).start();
        }
      };
      next[0].run();
    });
    return warmed.future();
  }

  /** Starts the timetable at {@code startNanos}; the future completes when every request of this lane has ended. */
  Future<Recorder> begin(long startNanos) {
    context.runOnContext(v -> {
      this.startNanos = startNanos;
      if (next >= schedule.total()) {
        done.complete(measured);
      } else {
        tick();
      }
    });
    return done.future();
  }

  private void tick() {
    long now = System.nanoTime();
    while (next < schedule.total() && startNanos + schedule.offsetNanos(next) - now <= SLACK_NANOS) {
      fire(next);
      next += spec.lanes();
    }
    if (next >= schedule.total()) {
      if (inFlight == 0) {
        done.tryComplete(measured);
      }
    } else {
      long wait = startNanos + schedule.offsetNanos(next) - System.nanoTime();
      vertx.timer(Math.max(1, wait), TimeUnit.NANOSECONDS).onComplete(t -> tick());
    }
  }

  private void fire(long i) {
    long intended = startNanos + schedule.offsetNanos(i);
    Recorder rec = schedule.isWarmup(i) ? warmup : measured;
    inFlight++;
    live.inFlight.incrementAndGet();
    measured.inFlight(inFlight);
    new Exchange(vertx, client, options, body, spec.stream(), intended, spec.timeoutNanos(), rec,
        System::nanoTime, ok -> ended(ok, rec)).start();
  }

  private void ended(boolean ok, Recorder rec) {
    inFlight--;
    live.inFlight.decrementAndGet();
    live.finished.incrementAndGet();
    if (!ok && rec == measured) {
      live.failed.incrementAndGet();
    }
    if (inFlight == 0 && next >= schedule.total()) {
      done.tryComplete(measured);
    }
  }
}
