package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sluice serve} as its own process when it cannot start: it says why in a line an operator
 * can act on, not with a Java stack trace, and exits non-zero.
 */
class StartFailureTest {
  @TempDir
  Path dir;

  record Run(int code, String out, String err) {}

  private Run serve(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve", "--event-loops", "1"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile())
        .redirectOutput(dir.resolve("out.txt").toFile())
        .redirectError(dir.resolve("err.txt").toFile())
        .start();
    if (!p.waitFor(90, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("still running: " + Files.readString(dir.resolve("out.txt")));
    }
    return new Run(p.exitValue(), Files.readString(dir.resolve("out.txt")), Files.readString(dir.resolve("err.txt")));
  }

  @Test
  void aPortInUseIsNamedWithoutAStackTrace() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Run r = serve("--port", String.valueOf(taken.getLocalPort()), "--data-dir", dir.resolve("data").toString());
      assertThat(r.code()).as("%s", r).isEqualTo(1);
      assertThat(r.err()).contains("127.0.0.1:" + taken.getLocalPort()).containsIgnoringCase("address already in use");
      assertThat(r.err()).as("a stack trace").doesNotContain("\tat ");
      assertThat(r.out()).doesNotContain("listening");
    }
  }

  @Test
  void aDataDirectoryThatCannotBeMadeIsNamedWithoutAStackTrace() throws Exception {
    Path file = Files.writeString(dir.resolve("a-file"), "");
    Run r = serve("--port", "0", "--data-dir", file.resolve("data").toString());
    assertThat(r.code()).as("%s", r).isEqualTo(1);
    assertThat(r.err()).contains(file.resolve("data").toString()).contains("data directory");
    assertThat(r.err()).as("a stack trace").doesNotContain("\tat ");
  }

  @Test
  void anUnreachableStoreIsNamedWithoutAStackTrace() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    Path config = Files.writeString(dir.resolve("sluice.yaml"), """
        providers:
          sim: { type: sim }
        models:
          demo:
            deployments:
              - { id: sim-a, provider: sim, model: sim-fast }
        store:
          url: postgresql://u:p@127.0.0.1:%d/sluice
        """.formatted(closed));
    Run r = serve("--config", config.toString(), "--port", "0", "--data-dir", dir.toString());
    assertThat(r.code()).as("%s", r).isEqualTo(1);
    assertThat(r.err()).contains("127.0.0.1:" + closed).contains("refused");
    assertThat(r.err()).as("a stack trace").doesNotContain("\tat ");
  }

  @Test
  void anInvalidConfigurationIsReportedByLineAndExitsTwo() throws IOException, Exception {
    Path config = Files.writeString(dir.resolve("bad.yaml"), "providers:\n  sim: { type: sim, sede: 3 }\n");
    Run r = serve("--config", config.toString(), "--port", "0", "--data-dir", dir.toString());
    assertThat(r.code()).as("%s", r).isEqualTo(2);
    assertThat(r.err()).contains("line 2").contains("'sede'").doesNotContain("\tat ");
    assertThat(dir.resolve("sluice.db")).doesNotExist();
  }
}
