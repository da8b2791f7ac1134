package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code sluice bench} in-process: what it refuses before sending anything. The target is a closed
 * loopback port; none of these cases may reach it.
 */
class BenchCommandTest {
  private static final String TARGET = "http://127.0.0.1:9";

  private record Run(int exit, String out, String err) {}

  private static Run bench(String... args) {
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      String[] all = new String[args.length + 1];
      all[0] = "bench";
      System.arraycopy(args, 0, all, 1, args.length);
      int exit = new CommandLine(new Main()).execute(all);
      return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
    }
  }

  private static Run quick(Path dataDir, String... more) {
    List<String> args = new java.util.ArrayList<>(List.of("--target", TARGET, "--rate", "10", "--duration", "200ms",
        "--self-warm", "0", "--timeout", "2s", "--no-progress", "--data-dir", dataDir.toString()));
    args.addAll(List.of(more));
    return bench(args.toArray(String[]::new));
  }

  @Test
  void aBaselineThatIsNotAResultStopsTheRunBeforeItStarts(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("baselines"));
    Files.writeString(dir.resolve("baselines/main.json"), "{}\n");
    Run r = quick(dir, "--compare", "main");
    // before: the run went ahead, compared no figure at all, printed "no regression" and exited 0
    assertThat(r.exit()).as(r.out()).isEqualTo(2);
    assertThat(r.err()).contains("baseline 'main' is not a sluice bench result");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void aMissingBaselineStopsTheRunBeforeItStarts(@TempDir Path dir) {
    Run r = quick(dir, "--compare", "nope");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("no baseline named 'nope'");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void badRatesAndDurationsAreUsageErrors(@TempDir Path dir) {
    for (String rate : List.of("0", "-5", "NaN", "Infinity", "2000000", "fast")) {
      Run r = bench("--target", TARGET, "--rate", rate, "--data-dir", dir.toString());
      assertThat(r.exit()).as(rate).isEqualTo(2);
      assertThat(r.err()).as(rate).contains("--rate");
      assertThat(r.out()).isEmpty();
    }
    for (String d : List.of("10x", "10d", "0s", "-1s", "")) {
      Run r = bench("--target", TARGET, "--rate", "10", "--duration", d, "--data-dir", dir.toString());
      assertThat(r.exit()).as(d).isEqualTo(2);
      assertThat(r.err()).as(d).contains("--duration");
      assertThat(r.out()).isEmpty();
    }
  }

  @Test
  void noProgressBarWhenNotOnATerminal(@TempDir Path dir) {
    // the test JVM has no console, as under CI or with output redirected to a file
    List<String> args = List.of("--target", TARGET, "--rate", "10", "--duration", "500ms", "--self-warm", "0",
        "--timeout", "2s", "--data-dir", dir.toString());
    Run r = bench(args.toArray(String[]::new));
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("scheduled 5");
    assertThat(r.err()).doesNotContain("\r").doesNotContain("bench ");
  }
}
