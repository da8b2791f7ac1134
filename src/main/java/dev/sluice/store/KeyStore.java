package dev.sluice.store;

import dev.sluice.admission.ApiKey;
import dev.sluice.admission.Priority;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Virtual keys in the database, stored by digest. Blocking; call from worker threads. */
public final class KeyStore {
  private static final String COLUMNS = "id, name, key_hash, key_prefix, models, rpm, tpm, max_concurrency, priority,"
      + " max_tokens, created_at, revoked_at";
  private final Database db;

  public KeyStore(Database db) {
    this.db = db;
  }

  public void insert(ApiKey k) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement ps = c.prepareStatement("INSERT INTO api_keys (" + COLUMNS + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")) {
      ps.setString(1, k.id());
      ps.setString(2, k.name());
      ps.setString(3, k.hash());
      ps.setString(4, k.prefix());
      ps.setString(5, String.join(",", k.models()));
      setLong(ps, 6, k.rpm());
      setLong(ps, 7, k.tpm());
      setLong(ps, 8, k.maxConcurrency());
      ps.setString(9, k.priority().label());
      setLong(ps, 10, k.maxTokens());
      ps.setLong(11, k.createdAt());
      setLong(ps, 12, k.revokedAt());
      ps.executeUpdate();
    }
  }

  /** Every key, live and revoked, oldest first. */
  public List<ApiKey> all() throws SQLException {
    List<ApiKey> out = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM api_keys ORDER BY created_at, id");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(read(rs));
      }
    }
    return out;
  }

  /** Revokes the live key with this id or name; empty when there is none. */
  public Optional<ApiKey> revoke(String idOrName, long nowMillis) throws SQLException {
    try (Connection c = db.dataSource().getConnection()) {
      ApiKey k = null;
      try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS
          + " FROM api_keys WHERE (id = ? OR name = ?) AND revoked_at IS NULL")) {
        ps.setString(1, idOrName);
        ps.setString(2, idOrName);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            k = read(rs);
          }
        }
      }
      if (k == null) {
        return Optional.empty();
      }
      try (PreparedStatement ps = c.prepareStatement("UPDATE api_keys SET revoked_at = ? WHERE id = ?")) {
        ps.setLong(1, nowMillis);
        ps.setString(2, k.id());
        ps.executeUpdate();
      }
      return Optional.of(new ApiKey(k.id(), k.name(), k.hash(), k.prefix(), k.models(), k.rpm(), k.tpm(),
          k.maxConcurrency(), k.priority(), k.maxTokens(), k.createdAt(), nowMillis));
    }
  }

  private static ApiKey read(ResultSet rs) throws SQLException {
    String models = rs.getString("models");
    Set<String> set = models == null || models.isBlank() ? Set.of()
        : new LinkedHashSet<>(Arrays.asList(models.split(",")));
    Priority p = Priority.parse(rs.getString("priority"));
    return new ApiKey(rs.getString("id"), rs.getString("name"), rs.getString("key_hash"), rs.getString("key_prefix"),
        set, getLong(rs, "rpm"), getLong(rs, "tpm"), (int) getLong(rs, "max_concurrency"),
        p == null ? Priority.NORMAL : p, (int) getLong(rs, "max_tokens"), rs.getLong("created_at"),
        getLong(rs, "revoked_at"));
  }

  private static long getLong(ResultSet rs, String col) throws SQLException {
    long v = rs.getLong(col);
    return rs.wasNull() ? -1 : v;
  }

  private static void setLong(PreparedStatement ps, int i, long v) throws SQLException {
    if (v < 0) {
      ps.setNull(i, Types.BIGINT);
    } else {
      ps.setLong(i, v);
    }
  }
}
