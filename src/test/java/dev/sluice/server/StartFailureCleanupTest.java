package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A gateway that fails to start leaves nothing running behind it: no half-started gateway. */
class StartFailureCleanupTest {
  @TempDir
  Path dir;

  /** The store's and the request log's threads (the pool is named sluice-store). */
  private static Set<Thread> storeThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && (t.getName().startsWith("sluice-request-log") || t.getName().startsWith("sluice-store")))
        .collect(Collectors.toSet());
  }

  @Test
  void aPortInUseLeavesNoStoreOrRequestLogRunning() throws Exception {
    Set<Thread> before = storeThreads();
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      SluiceConfig config = new ConfigLoader(Map.of()).loadText("""
          server: { port: %d, event_loops: 1 }
          providers:
            sim: { type: sim, seed: 7 }
          models:
            demo:
              deployments:
                - { id: sim-a, provider: sim, model: sim-fast }
          """.formatted(taken.getLocalPort()), "test");
      assertThatThrownBy(() -> Gateway.start(config, new Gateway.Options(dir, null)))
          .hasStackTraceContaining("Address already in use");
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      Set<Thread> left = storeThreads();
      left.removeAll(before);
      assertThat(left).extracting(Thread::getName).isEmpty();
    });
  }
}
