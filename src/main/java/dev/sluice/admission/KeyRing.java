package dev.sluice.admission;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The keys this gateway knows, in memory, by digest: looking a key up on the request path is one
 * SHA-256 and one map read. Replaced as a whole when the store is re-read (every few seconds, and at
 * once after a change through the admin API).
 */
public final class KeyRing {
  private volatile Map<String, ApiKey> byHash = Map.of();
  private volatile boolean anyLive;

  public void replace(List<ApiKey> keys) {
    Map<String, ApiKey> m = new HashMap<>();
    boolean live = false;
    for (ApiKey k : keys) {
      m.put(k.hash(), k);
      live |= !k.revoked();
    }
    byHash = Map.copyOf(m);
    anyLive = live;
  }

  /** The key a client presented, live or revoked, or null when unknown. */
  public ApiKey lookup(String presented) {
    String hash = KeyHash.sha256Hex(presented);
    ApiKey k = byHash.get(hash);
    return k != null && KeyHash.same(k.hash(), hash) ? k : null;
  }

  /** At least one key is live. */
  public boolean anyLive() {
    return anyLive;
  }

  /**
   * True once any key was ever created, revoked ones included: from then on every request needs a
   * live key. Revoking the last key must close the gateway, not open it again.
   */
  public boolean requiresKeys() {
    return !byHash.isEmpty();
  }

  public int size() {
    return byHash.size();
  }
}
