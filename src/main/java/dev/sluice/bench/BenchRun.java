package dev.sluice.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs a whole benchmark: one lane per event loop on a private Vert.x, a common start instant,
 * then waits (off the event loops) for every request to end and merges the lanes' figures.
 */
public final class BenchRun {
  /** A finished run: what was asked, what was measured, and when. */
  public record Result(BenchSpec spec, Schedule schedule, Recorder figures, Instant startedAt,
      long measureStartNanos) { }

  private BenchRun() {}

  public static Result run(BenchSpec spec, Map<String, String> headers, Progress progress) throws InterruptedException {
    Vertx vertx = Vertx.vertx(new VertxOptions()
        .setPreferNativeTransport(true)
        .setEventLoopPoolSize(spec.lanes())
        .setWorkerPoolSize(1));
    try {
      LiveCounters live = new LiveCounters();
      List<Lane> lanes = new ArrayList<>();
      for (int i = 0; i < spec.lanes(); i++) {
        Lane lane = new Lane(spec, i, headers, live);
        vertx.deployVerticle(lane).await();
        lanes.add(lane);
      }
      selfWarm(vertx, lanes, spec.selfWarm());
      // a short lead so that every lane is armed before the first request is due
      long start = System.nanoTime() + 20_000_000L;
      Instant startedAt = Instant.now().plusMillis(20);
      List<Future<Recorder>> ends = new ArrayList<>();
      for (Lane lane : lanes) {
        ends.add(lane.begin(start));
      }
      Future<?> all = Future.all(ends);
      while (!all.isComplete()) {
        progress.update(live);
        Thread.sleep(100);
      }
      progress.update(live);
      Recorder merged = new Recorder();
      for (Future<Recorder> f : ends) {
        merged.merge(f.result());
      }
      return new Result(spec, spec.schedule(), merged, startedAt, start + spec.warmupNanos());
    } finally {
      progress.close();
      vertx.close().await();
    }
  }

  /**
   * Runs {@code requests} requests, shared among the lanes, against a {@link SelfWarm} server of
   * the generator's own, and waits for them; none reaches the target or the results.
   */
  static List<Recorder> selfWarm(Vertx vertx, List<Lane> lanes, int requests) {
    if (requests <= 0) {
      return List.of();
    }
    HttpServer server = SelfWarm.serve(vertx).await();
    try {
      List<Future<Recorder>> warmed = new ArrayList<>();
      for (int i = 0; i < lanes.size(); i++) {
        warmed.add(lanes.get(i).selfWarm(server.actualPort(), (requests + lanes.size() - 1 - i) / lanes.size()));
      }
      Future.all(warmed).await();
      return warmed.stream().map(Future::result).toList();
    } finally {
      server.close().await();
    }
  }
}
