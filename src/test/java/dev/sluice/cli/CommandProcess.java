package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code sluice} command that listens (serve, sim) run as a process of its own, from this build's
 * classes, with its output in {@code out.txt} and {@code err.txt} of its directory.
 */
final class CommandProcess {
  private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");

  final Process process;
  final int port;
  private final Path dir;

  private CommandProcess(Process process, int port, Path dir) {
    this.process = process;
    this.port = port;
    this.dir = dir;
  }

  /** Starts {@code java -Xmx<heap> Main args...} in {@code dir} and waits until it says where it listens. */
  static CommandProcess start(Path dir, String heap, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx" + heap, "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile())
        .redirectOutput(dir.resolve("out.txt").toFile())
        .redirectError(dir.resolve("err.txt").toFile())
        .start();
    int[] port = {-1};
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      Matcher m = LISTENING.matcher(Files.readString(dir.resolve("out.txt")));
      if (m.find()) {
        port[0] = Integer.parseInt(m.group(1));
      }
      assertThat(p.isAlive()).as("%s exited: %s", args[0], Files.readString(dir.resolve("err.txt"))).isTrue();
      return port[0] > 0;
    });
    return new CommandProcess(p, port[0], dir);
  }

  String stderr() throws IOException {
    return Files.readString(dir.resolve("err.txt"));
  }
}
