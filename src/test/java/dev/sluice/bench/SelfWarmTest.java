package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The generator's self-warm: its own server answers like the target would, and every lane's share completes. */
class SelfWarmTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    vertx.close().await();
  }

  private List<Lane> lanes(boolean stream, int n) {
    return lanes("http://127.0.0.1:9", stream, n);
  }

  private List<Lane> lanes(String target, boolean stream, int n) {
    // the target is never contacted: nothing listens there
    BenchSpec spec = new BenchSpec(URI.create(target), "m", 10, 1_000_000_000L, 0, stream, 8, 0, false,
        10_000_000_000L, n, "t", 0, null);
    List<Lane> lanes = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Lane lane = new Lane(spec, i, java.util.Map.of(), new LiveCounters());
      vertx.deployVerticle(lane).await();
      lanes.add(lane);
    }
    return lanes;
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void everyLaneSendsItsShareAndEachEndsCleanly(boolean stream) {
    List<Recorder> warmed = BenchRun.selfWarm(vertx, lanes(stream, 3), 50);
    assertThat(warmed).hasSize(3);
    assertThat(warmed.stream().map(Recorder::okCount).toList()).containsExactly(17L, 17L, 16L);
    assertThat(warmed.stream().mapToLong(Recorder::failed).sum()).isZero();
    long chunks = warmed.stream().mapToLong(r -> r.chunkDelayHistogram().getTotalCount()).sum();
    long firstTexts = warmed.stream().mapToLong(r -> r.firstTextHistogram().getTotalCount()).sum();
    // a stream is read as in a run: a first text and a stamped delay per chunk
    assertThat(chunks).isEqualTo(stream ? 50L * SelfWarm.CHUNKS : 0);
    assertThat(firstTexts).isEqualTo(stream ? 50 : 0);
  }

  @Test
  void anHttpsTargetsLanesWarmUpOnPlainHttp() {
    List<Recorder> warmed = BenchRun.selfWarm(vertx, lanes("https://localhost:9", false, 1), 10);
    assertThat(warmed.get(0).okCount()).isEqualTo(10);
  }

  @Test
  void zeroSendsNothing() {
    assertThat(BenchRun.selfWarm(vertx, lanes(false, 1), 0)).isEmpty();
  }
}
