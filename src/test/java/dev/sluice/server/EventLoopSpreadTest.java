package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.deadline.Scheduler;
import dev.sluice.testing.TestGateway;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * A gateway with several event loops serves on all of them. Vert.x's own deployment handed the
 * loops out in turn while already started instances took turns too, so now and then (3 gateways in
 * 20 with two loops) both servers sat on one loop and the other loop served nothing. Each start
 * below is a fresh draw of that race.
 */
class EventLoopSpreadTest {
  private static final String YAML = TestGateway.SIMPLE.replace("event_loops: 1", "event_loops: 2");

  @Test
  void everyConfiguredEventLoopGetsAServerAndServesConnections() throws Exception {
    for (int start = 0; start < 10; start++) {
      Set<Thread> armedOn = ConcurrentHashMap.newKeySet();
      try (TestGateway gw = TestGateway.start(YAML, real -> new Scheduler() {
        @Override
        public long schedule(long delayNanos, Runnable task) {
          armedOn.add(Thread.currentThread());
          return real.schedule(delayNanos, task);
        }

        @Override
        public boolean cancel(long handle) {
          return real.cancel(handle);
        }
      })) {
        List<Thread> threads = gw.gateway().servingThreads();
        assertThat(threads).as("start %d: one server per loop", start).hasSize(2);
        assertThat(new HashSet<>(threads)).as("start %d: each server on a loop of its own", start).hasSize(2);
        // connections are handed to the servers in turn: four new ones reach both loops
        for (int i = 0; i < 4; i++) {
          HttpResponse<String> r = HttpClient.newHttpClient().send(
              HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
                  .header("content-type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(TestGateway.chat(null))).build(),
              HttpResponse.BodyHandlers.ofString());
          assertThat(r.statusCode()).isEqualTo(200);
        }
        assertThat(armedOn).as("start %d: requests were served on both loops", start)
            .containsExactlyInAnyOrderElementsOf(threads);
      }
    }
  }
}
