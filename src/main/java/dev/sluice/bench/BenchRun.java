package dev.sluice.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
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
}
