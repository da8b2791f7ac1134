package dev.sluice.server;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import io.vertx.core.internal.CloseFuture;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one verticle on each of the first {@code n} event loops, each on a loop of its own.
 *
 * <p>Why not {@code deployVerticle} with {@code instances = n}: Vert.x gives each instance the next
 * event loop in turn, but an instance that has already started takes turns of its own meanwhile
 * (creating an HTTP client does), so two instances could share one loop while another loop served
 * nothing. Probed on this machine, 3 gateways in 20 with two event loops ran every request on one
 * loop. Here each instance gets a context built on a loop chosen by index.
 *
 * <p>This uses Vert.x's internal context API ({@code io.vertx.core.internal}) and calls
 * {@link VerticleBase#deploy}/{@link VerticleBase#undeploy} itself, as its deployment manager
 * would, checked against Vert.x 5.0.x: recheck on an upgrade. Each instance has a close future of
 * its own (a child of Vert.x's), so what an instance opened on its context is closed with it, as a
 * deployment would close it.
 */
final class ServerLoops<V extends VerticleBase> {
  private static final Logger LOG = LoggerFactory.getLogger(ServerLoops.class);

  private record Running<V>(V verticle, ContextInternal context, CloseFuture closeFuture) {}

  private final List<Running<V>> running;

  private ServerLoops(List<Running<V>> running) {
    this.running = running;
  }

  /**
   * Starts {@code n} verticles made by {@code make}, one per event loop (the first {@code n} loops
   * of {@code vertx}, or all of them if it has fewer), and waits for all of them to start. If one
   * fails, those that started are stopped and the failure is thrown.
   */
  static <V extends VerticleBase> ServerLoops<V> start(Vertx vertx, int n, Supplier<V> make) {
    VertxInternal vi = (VertxInternal) vertx;
    List<EventLoop> loops = new ArrayList<>();
    for (EventExecutor e : vi.nettyEventLoopGroup()) {
      if (loops.size() < n) {
        loops.add((EventLoop) e);
      }
    }
    List<Running<V>> running = new ArrayList<>();
    List<Future<?>> started = new ArrayList<>();
    for (EventLoop loop : loops) {
      CloseFuture closeFuture = new CloseFuture();
      vi.closeFuture().add(closeFuture);
      ContextInternal ctx = vi.contextBuilder().withEventLoop(loop).withCloseFuture(closeFuture).build();
      V v = make.get();
      running.add(new Running<>(v, ctx, closeFuture));
      started.add(onContext(ctx, () -> v.deploy(ctx).mapEmpty()));
    }
    ServerLoops<V> all = new ServerLoops<>(running);
    try {
      // join, not all: every instance has finished starting (or failed to) before any is stopped
      Future.join(started).await();
    } catch (Throwable e) { // await rethrows a checked cause too (a BindException for a port in use)
      all.stop();
      throw e;
    }
    return all;
  }

  List<V> verticles() {
    return running.stream().map(Running::verticle).toList();
  }

  /** The threads of the loops, in order (for tests). */
  List<Thread> threads() {
    List<Thread> out = new ArrayList<>();
    for (Running<V> r : running) {
      out.add(onContext(r.context(), () -> Future.succeededFuture(Thread.currentThread())).await());
    }
    return out;
  }

  /**
   * Stops every verticle on its own loop, then closes what was opened on its context, and waits.
   * A failure to stop is logged, and the rest still stop.
   */
  void stop() {
    List<Future<?>> stopped = new ArrayList<>();
    for (Running<V> r : running) {
      stopped.add(onContext(r.context(), () -> r.verticle().undeploy(r.context()).mapEmpty())
          .recover(e -> {
            LOG.warn("stopping a server on {} failed: {}", r.context().nettyEventLoop(), e.toString());
            return Future.succeededFuture();
          })
          .compose(x -> r.closeFuture().close()));
    }
    Future.join(stopped).await();
  }

  /** Runs {@code action} for every verticle on its own loop; the answers are not waited for. */
  Future<?> each(java.util.function.Function<V, Future<?>> action) {
    List<Future<?>> all = new ArrayList<>();
    for (Running<V> r : running) {
      all.add(onContext(r.context(), () -> action.apply(r.verticle())));
    }
    return Future.join(all);
  }

  private interface Action<T> {
    Future<T> run() throws Exception;
  }

  private static <T> Future<T> onContext(ContextInternal ctx, Action<T> action) {
    Promise<T> p = Promise.promise();
    ctx.runOnContext(x -> {
      try {
        action.run().onComplete(p);
      } catch (Exception e) {
        p.fail(e);
      }
    });
    return p.future();
  }
}
