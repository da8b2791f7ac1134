package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice sim} as its own process, stopped with SIGTERM as a service manager stops it. */
class SimStopTest {
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
    CommandProcess started = CommandProcess.start(dir, "128m", "sim", "--port", "0");
    sim = started.process;

    sim.destroy(); // SIGTERM

    assertThat(sim.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(sim.exitValue()).as("exit status; stderr: %s", started.stderr()).isZero();
    try (Socket s = new Socket("127.0.0.1", started.port)) {
      throw new AssertionError("the port still accepts connections");
    } catch (ConnectException expected) {
      // closed
    }
  }
}
