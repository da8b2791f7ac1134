package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code ./sluice} launcher script, run by bash on a copy of the project's layout. */
class LauncherTest {
  @TempDir
  Path dir;

  record Run(int code, String out) {}

  private Run run(Path script, Path bin, String... args) throws Exception {
    String[] cmd = new String[args.length + 2];
    cmd[0] = "/bin/bash";
    cmd[1] = script.toString();
    System.arraycopy(args, 0, cmd, 2, args.length);
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().put("PATH", bin.toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), out);
  }

  /** A PATH with what the script needs besides Maven and Java. */
  private Path binWithoutMaven() throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    for (String tool : new String[] {"dirname", "readlink", "find", "rm"}) {
      for (String d : new String[] {"/usr/bin", "/bin"}) {
        if (Files.isExecutable(Path.of(d, tool)) && !Files.exists(bin.resolve(tool))) {
          Files.createSymbolicLink(bin.resolve(tool), Path.of(d, tool));
        }
      }
    }
    return bin;
  }

  @Test
  void withoutMavenAStaleJarIsKeptAndTheMessageSaysWhy() throws Exception {
    Path home = Files.createDirectories(dir.resolve("project with space"));
    Path script = Files.copy(Path.of("sluice"), home.resolve("sluice"));
    Files.createDirectories(home.resolve("src/main"));
    Path source = Files.writeString(home.resolve("src/main/Changed.java"), "");
    Files.writeString(home.resolve("pom.xml"), "");
    Path jar = Files.writeString(Files.createDirectories(home.resolve("target")).resolve("sluice.jar"), "the jar");
    Instant old = Instant.now().minusSeconds(3600);
    Files.setLastModifiedTime(jar, FileTime.from(old));
    Files.setLastModifiedTime(home.resolve("pom.xml"), FileTime.from(old.minusSeconds(60)));
    Files.setLastModifiedTime(source, FileTime.from(Instant.now()));

    Run r = run(script, binWithoutMaven(), "--version");

    assertThat(r.code()).as(r.out()).isNotZero();
    assertThat(r.out()).contains("mvn").contains("PATH").doesNotContain("command not found");
    assertThat(jar).as("the jar the launcher found").exists();
  }
}
