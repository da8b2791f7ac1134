package dev.sluice.server;

import dev.sluice.admission.ApiKey;
import dev.sluice.admission.KeyHash;
import dev.sluice.admission.KeyRing;
import dev.sluice.admission.Priority;
import dev.sluice.store.KeyStore;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates, lists and revokes virtual keys in the store and keeps the in-memory {@link KeyRing} in
 * step. Blocking: the admin API and the periodic refresh call it from worker threads; the command
 * line calls it directly.
 */
public final class KeyService {
  private static final Logger LOG = LoggerFactory.getLogger(KeyService.class);

  private final KeyStore store;
  private final KeyRing ring;

  public KeyService(KeyStore store, KeyRing ring) {
    this.store = store;
    this.ring = ring;
  }

  /** What {@link #create} returns: the stored key and, this once, its secret. */
  public record Created(ApiKey key, String secret) {}

  public Created create(String name, Set<String> models, long rpm, long tpm, int maxConcurrency, Priority priority,
      int maxTokens) throws SQLException {
    String secret = KeyHash.newKey();
    ApiKey k = new ApiKey(KeyHash.newId(), name, KeyHash.sha256Hex(secret), KeyHash.displayPrefix(secret), models,
        rpm, tpm, maxConcurrency, priority, maxTokens, System.currentTimeMillis(), -1);
    synchronized (this) {
      store.insert(k);
      refresh();
    }
    return new Created(k, secret);
  }

  public List<ApiKey> list() throws SQLException {
    return store.all();
  }

  public Optional<ApiKey> revoke(String idOrName) throws SQLException {
    synchronized (this) {
      Optional<ApiKey> k = store.revoke(idOrName, System.currentTimeMillis());
      refresh();
      return k;
    }
  }

  /**
   * Re-reads every key; on failure the ring keeps what it had (a store outage must not open the
   * door). One refresh at a time: a slow periodic read must not land after a revocation's own and
   * bring the revoked key back.
   */
  public synchronized void refresh() {
    try {
      ring.replace(store.all());
    } catch (SQLException e) {
      LOG.warn("keys: could not re-read the store, keeping the {} keys known: {}", ring.size(), e.getMessage());
    }
  }
}
