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
 */
public record StoreConfig(String url, String user, Secret password, Duration retention, int batchSize, int buffer) {
  public static final StoreConfig DEFAULTS = new StoreConfig("sqlite", null, Secret.empty(), Duration.ofDays(7), 100, 20_000);

  public boolean enabled() {
    return !"none".equals(url);
  }

  public StoreConfig withUrl(String u) {
    return new StoreConfig(u, user, password, retention, batchSize, buffer);
  }

  public boolean postgres() {
    return url.startsWith("jdbc:postgresql:") || url.startsWith("postgresql:") || url.startsWith("postgres:");
  }
}
