package dev.sluice.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server for tests, started from the Maven artifact zonky ships (nothing is
 * downloaded), with its data directory kept between {@link #stop()} and {@link #restart()} so that
 * a test can take the database away and bring it back on the same port and with the same rows.
 */
public final class EmbeddedPg implements AutoCloseable {
  private static final AtomicInteger DATABASES = new AtomicInteger();

  private final Path dataDir;
  private final int port;
  private EmbeddedPostgres pg;

  private EmbeddedPg(Path dataDir, EmbeddedPostgres pg) {
    this.dataDir = dataDir;
    this.pg = pg;
    this.port = pg.getPort();
  }

  public static EmbeddedPg start() {
    try {
      Path dir = Files.createTempDirectory("sluice-pg");
      return new EmbeddedPg(dir, EmbeddedPostgres.builder().setDataDirectory(dir).setCleanDataDirectory(false).start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int port() {
    return port;
  }

  /** A JDBC URL of database {@code db} (user postgres, trust authentication). */
  public String jdbcUrl(String db) {
    return "jdbc:postgresql://localhost:" + port + "/" + db + "?user=postgres";
  }

  /** Creates an empty database with a fresh name and returns its JDBC URL. */
  public String newDatabase() {
    String name = "sluice_" + DATABASES.incrementAndGet();
    try (Connection c = DriverManager.getConnection(jdbcUrl("postgres")); Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return jdbcUrl(name);
  }

  public synchronized boolean running() {
    return pg != null;
  }

  /** Stops the server (fast shutdown: open sessions are ended); the data directory stays. */
  public synchronized void stop() {
    if (pg == null) {
      return;
    }
    try {
      pg.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      pg = null;
    }
  }

  /** Starts the server again on the same port over the same data directory. */
  public synchronized void restart() {
    if (pg != null) {
      return;
    }
    try {
      pg = EmbeddedPostgres.builder().setDataDirectory(dataDir).setCleanDataDirectory(false).setPort(port).start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Freezes the server (SIGSTOP to the postmaster and each of its processes, by process id): it
   * keeps its sockets, and the kernel still accepts connections for it, but nothing answers, as with
   * a server whose machine hangs or whose network drops packets. {@link #thaw()} resumes it.
   */
  public synchronized void freeze() {
    signal("STOP");
  }

  public synchronized void thaw() {
    signal("CONT");
  }

  private void signal(String name) {
    try {
      long postmaster = Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).trim());
      java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("kill", "-" + name,
          String.valueOf(postmaster)));
      ProcessHandle.of(postmaster).orElseThrow().descendants().forEach(p -> cmd.add(String.valueOf(p.pid())));
      Process kill = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(kill.getInputStream().readAllBytes());
      if (kill.waitFor() != 0) {
        throw new IllegalStateException(cmd + ": " + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public synchronized void close() {
    stop();
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a leftover temp directory is not worth failing a test for
    }
  }
}
