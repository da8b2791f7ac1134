package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice sim} as its own process, stopped with SIGTERM as a service manager stops it. */
class SimStopTest {
  private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");

  @TempDir
  Path dir;

  private Process sim;

  @AfterEach
  void kill() {
    if (sim != null) {
      sim.destroyForcibly();
    }
  }

  @Test
  void aStopAskedForClosesThePortAndExitsWithStatusZero() throws Exception {
    sim = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx128m", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "sim", "--port", "0"))
        .directory(dir.toFile())
        .redirectOutput(dir.resolve("out.txt").toFile())
        .redirectError(dir.resolve("err.txt").toFile())
        .start();
    int[] port = {-1};
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      Matcher m = LISTENING.matcher(Files.readString(dir.resolve("out.txt")));
      if (m.find()) {
        port[0] = Integer.parseInt(m.group(1));
      }
      assertThat(sim.isAlive()).as("sim exited: %s", Files.readString(dir.resolve("err.txt"))).isTrue();
      return port[0] > 0;
    });

    sim.destroy(); // SIGTERM

    assertThat(sim.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(sim.exitValue()).as("exit status; stderr: %s", Files.readString(dir.resolve("err.txt"))).isZero();
    try (Socket s = new Socket("127.0.0.1", port[0])) {
      throw new AssertionError("the port still accepts connections");
    } catch (ConnectException expected) {
      // closed
    }
  }
}
