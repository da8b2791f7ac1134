package dev.sluice.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The dashboard's per-second figures: each tick shows the requests since the last one, newest last. */
class LiveStatsTest {
  static RequestRecord request(String id, String model, String provider) {
    return RequestRecord.builder().id(id).model(model).provider(provider).deployment(provider + "/" + model)
        .status(200).outcome(Outcome.SUCCESS).latencyMs(12.5).attempts(1).build();
  }

  static List<String> latestIds(JsonObject tick) {
    List<String> ids = new ArrayList<>();
    for (Object o : tick.getJsonArray("latest")) {
      ids.add(((JsonObject) o).getString("id"));
    }
    return ids;
  }

  @ParameterizedTest(name = "{0} requests")
  @ValueSource(ints = {0, 1, 24, 25, 26, 127, 128, 129, 1000})
  void aTickShowsTheLast25RequestsSinceThePreviousTickInOrder(int n) {
    LiveStats live = new LiveStats();
    live.record(request("before", "m", "p"));
    live.tick(0, null);
    for (int i = 0; i < n; i++) {
      live.record(request("r" + i, "m", "p"));
    }
    List<String> expected = new ArrayList<>();
    for (int i = Math.max(0, n - 25); i < n; i++) {
      expected.add("r" + i);
    }
    JsonObject tick = live.tick(1000, null);
    assertThat(latestIds(tick)).containsExactlyElementsOf(expected);
    assertThat(tick.getLong("requests")).isEqualTo(n);
    assertThat(latestIds(live.tick(2000, null))).as("nothing new, nothing shown again").isEmpty();
  }

  @Test
  void seriesAreCountedPerModelAndProviderAndListedInOrder() {
    LiveStats live = new LiveStats();
    live.record(request("1", "b", "p"));
    live.record(request("2", "a", "q"));
    live.record(request("3", "a", "p"));
    live.record(request("4", "a", "p"));
    JsonArray series = live.tick(0, null).getJsonArray("series");
    List<String> names = new ArrayList<>();
    for (Object o : series) {
      JsonObject s = (JsonObject) o;
      names.add(s.getString("model") + "@" + s.getString("provider") + "=" + s.getLong("requests"));
    }
    assertThat(names).containsExactly("a@p=2", "a@q=1", "b@p=1");
  }

  @Test
  void requestsRecordedFromSeveralThreadsAreCountedAndShownOnce() throws Exception {
    LiveStats live = new LiveStats();
    int threads = 4;
    int each = 20_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch go = new CountDownLatch(1);
    for (int t = 0; t < threads; t++) {
      int id = t;
      pool.submit(() -> {
        go.await();
        for (int i = 0; i < each; i++) {
          live.record(request(id + ":" + i, "m", "p"));
        }
        return null;
      });
    }
    go.countDown();
    List<String> shown = new ArrayList<>();
    long total = 0;
    boolean finished = false;
    while (!finished) {
      pool.shutdown();
      finished = pool.awaitTermination(1, TimeUnit.MILLISECONDS);
      JsonObject tick = live.tick(0, null);
      total += tick.getLong("requests");
      shown.addAll(latestIds(tick));
    }
    JsonObject last = live.tick(0, null);
    total += last.getLong("requests");
    shown.addAll(latestIds(last));
    assertThat(total).isEqualTo((long) threads * each);
    assertThat(shown).as("no request shown twice").doesNotHaveDuplicates();
    assertThat(shown).isNotEmpty();
  }
}
