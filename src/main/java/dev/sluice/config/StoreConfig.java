package dev.sluice.config;

import java.time.Duration;

/**
 * Where the request log and keys live.
 *
 * @param url        {@code sqlite} (default: {@code sluice.db} in the data directory), {@code sqlite:PATH},
 *                   a PostgreSQL URL ({@code jdbc:postgresql://host/db} or {@code postgresql://user:pass@host/db}),
 *                   or {@code none} (no request log, no stored keys)
 * @param user       PostgreSQL user, when not in the URL
 * @param password   PostgreSQL password, when not in the URL; never logged
 * @param retention  request log records older than this are pruned; default 7 days
 * @param batchSize  records per insert chunk (a backlog joins up to 10 chunks per transaction); default 100
 * @param buffer     records waiting to be written before new ones are dropped (and counted); default 20000
 * @param statementTimeout PostgreSQL only: the longest a statement may run (or wait for a lock) before
 *                   the server cancels it; the connection's reads give up this plus {@link #SOCKET_SLACK}
 *                   later, for a server that does not answer at all; default 30 s
 */
public record StoreConfig(String url, String user, Secret password, Duration retention, int batchSize, int buffer,
    Duration statementTimeout) {
  public static final Duration DEFAULT_STATEMENT_TIMEOUT = Duration.ofSeconds(30);
  /** How much longer than a statement may run the driver waits on a silent server before it gives up. */
  public static final Duration SOCKET_SLACK = Duration.ofSeconds(10);
  public static final StoreConfig DEFAULTS = new StoreConfig("sqlite", null, Secret.empty(), Duration.ofDays(7), 100,
      20_000, DEFAULT_STATEMENT_TIMEOUT);

  /** With the default statement timeout. */
  public StoreConfig(String url, String user, Secret password, Duration retention, int batchSize, int buffer) {
    this(url, user, password, retention, batchSize, buffer, DEFAULT_STATEMENT_TIMEOUT);
  }

  public boolean enabled() {
    return !"none".equals(url);
  }

  public StoreConfig withUrl(String u) {
    return new StoreConfig(u, user, password, retention, batchSize, buffer, statementTimeout);
  }

  public boolean postgres() {
    return url.startsWith("jdbc:postgresql:") || url.startsWith("postgresql:") || url.startsWith("postgres:");
  }
}
