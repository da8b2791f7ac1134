package dev.sluice.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.sluice.config.StoreConfig;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.sqlite.SQLiteOpenMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's database: one SQLite file by default, PostgreSQL when configured; the same schema
 * on both, created and upgraded by Flyway migrations. Every call on it blocks, so it is only used
 * from worker threads, never from an event loop.
 */
public final class Database implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Database.class);

  /**
   * Read-write, created if missing, and without SQLite's own per-connection mutex ("multi-thread"
   * mode instead of "serialized"). Serialized mode locks and unlocks a mutex in every call into
   * SQLite, about 4% of the log writer's time (two calls per bound value); it only protects a
   * connection used by two threads at once, which never happens here: the pool lends a connection
   * to one thread at a time, and the driver already synchronizes its own calls on a connection.
   */
  static final int SQLITE_OPEN_MODE = SQLiteOpenMode.READWRITE.flag | SQLiteOpenMode.CREATE.flag
      | SQLiteOpenMode.NOMUTEX.flag;

  private final HikariDataSource pool;
  private final boolean postgres;
  private final String description;

  private Database(HikariDataSource pool, boolean postgres, String description) {
    this.pool = pool;
    this.postgres = postgres;
    this.description = description;
  }

  public static Database open(StoreConfig config, Path dataDir) {
    HikariConfig h = new HikariConfig();
    String description;
    boolean pg = config.postgres();
    if (pg) {
      String url = config.url();
      String user = config.user();
      String password = config.password().isEmpty() ? null : config.password().reveal();
      if (!url.startsWith("jdbc:")) {
        URI u = URI.create(url.replaceFirst("^postgres(ql)?:", "postgresql:"));
        if (u.getUserInfo() != null) {
          String[] up = u.getUserInfo().split(":", 2);
          user = user == null ? up[0] : user;
          password = password == null && up.length > 1 ? up[1] : password;
        }
        url = "jdbc:postgresql://" + u.getHost() + (u.getPort() > 0 ? ":" + u.getPort() : "") + u.getRawPath()
            + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
      }
      h.setJdbcUrl(url);
      if (user != null) {
        h.setUsername(user);
      }
      if (password != null) {
        h.setPassword(password);
      }
      h.setMaximumPoolSize(4);
      bounded(h, config.statementTimeout());
      description = url.replaceAll("password=[^&]*", "password=***");
    } else {
      Path file = config.url().startsWith("sqlite:") ? Path.of(config.url().substring(7)) : dataDir.resolve("sluice.db");
      try {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
      } catch (java.io.IOException e) {
        throw new IllegalStateException("cannot create the directory of " + file + ": " + e.getMessage(), e);
      }
      // WAL lets readers (queries, exports) run while the log writer writes
      h.setJdbcUrl("jdbc:sqlite:" + file.toAbsolutePath()
          + "?journal_mode=WAL&synchronous=NORMAL&busy_timeout=5000&foreign_keys=true&open_mode=" + SQLITE_OPEN_MODE);
      h.setMaximumPoolSize(4);
      description = "sqlite:" + file.toAbsolutePath();
    }
    h.setPoolName("sluice-store");
    h.setConnectionTimeout(5_000);
    h.setInitializationFailTimeout(10_000);
    HikariDataSource ds = new HikariDataSource(h);
    try {
      Flyway.configure()
          .dataSource(ds)
          .locations("classpath:db/migration/" + (pg ? "postgresql" : "sqlite"))
          .load()
          .migrate();
      if (!pg) {
        truncateWal(ds);
      }
    } catch (RuntimeException e) {
      ds.close();
      throw e;
    }
    LOG.info("store: {}", description);
    return new Database(ds, pg, description);
  }

  /**
   * Bounds every PostgreSQL call, so that a locked table or a server that stopped answering fails a
   * call instead of holding its thread and pool connection for ever (the log writer would stop
   * without ever saying so, and each read or key refresh would take a worker thread for good). The
   * server cancels a statement that runs, or waits for a lock, longer than {@code statement}; the
   * driver gives up on a server silent for {@link StoreConfig#SOCKET_SLACK} more than that (frozen,
   * or cut off by the network, where no cancel can come). Each fetch of an export is a statement of
   * its own, so a long export is not cut short; waiting for a slow client reads nothing.
   */
  private static void bounded(HikariConfig h, java.time.Duration statement) {
    h.setConnectionInitSql("SET statement_timeout = " + statement.toMillis());
    long socketSeconds = (statement.plus(StoreConfig.SOCKET_SLACK).toMillis() + 999) / 1000;
    h.addDataSourceProperty("socketTimeout", String.valueOf(socketSeconds));
  }

  /**
   * Copies the write-ahead log into the database file and empties it. A migration that rewrites a
   * table (migration 2 copies the request log) leaves a WAL as large as the table, and SQLite keeps
   * a WAL file at its largest size while connections stay open, which the pool's do.
   */
  private static void truncateWal(DataSource ds) {
    try (java.sql.Connection c = ds.getConnection(); java.sql.Statement st = c.createStatement()) {
      st.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (java.sql.SQLException e) {
      LOG.warn("store: could not truncate the write-ahead log after migrations: {}", e.getMessage());
    }
  }

  public DataSource dataSource() {
    return pool;
  }

  public boolean postgres() {
    return postgres;
  }

  public String description() {
    return description;
  }

  @Override
  public void close() {
    pool.close();
  }
}
