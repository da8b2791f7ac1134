package dev.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KeyRingTest {
  static ApiKey stored(String id, String secret, long revokedAt) {
    return new ApiKey(id, "name-" + id, KeyHash.sha256Hex(secret), KeyHash.displayPrefix(secret), Set.of("demo"),
        -1, -1, -1, Priority.NORMAL, -1, 1, revokedAt);
  }

  @Test
  void looksUpByDigestAndTellsRevokedFromUnknown() {
    String live = KeyHash.newKey();
    String revoked = KeyHash.newKey();
    KeyRing ring = new KeyRing();
    assertThat(ring.anyLive()).isFalse();
    assertThat(ring.lookup(live)).isNull();
    ring.replace(List.of(stored("key_1", live, -1), stored("key_2", revoked, 5)));
    assertThat(ring.size()).isEqualTo(2);
    assertThat(ring.anyLive()).isTrue();
    assertThat(ring.lookup(live).id()).isEqualTo("key_1");
    assertThat(ring.lookup(live).revoked()).isFalse();
    assertThat(ring.lookup(revoked).id()).isEqualTo("key_2");
    assertThat(ring.lookup(revoked).revoked()).isTrue();
    assertThat(ring.lookup(KeyHash.newKey())).as("unknown").isNull();
    assertThat(ring.lookup(live + "x")).isNull();
    assertThat(ring.lookup(KeyHash.sha256Hex(live))).as("the digest is not the key").isNull();
    assertThat(ring.lookup("")).isNull();
  }

  @Test
  void onlyRevokedKeysMeansNoLiveKeys() {
    KeyRing ring = new KeyRing();
    ring.replace(List.of(stored("key_1", KeyHash.newKey(), 5)));
    assertThat(ring.anyLive()).isFalse();
    assertThat(ring.requiresKeys()).as("a revoked key keeps the gateway closed").isTrue();
    ring.replace(List.of());
    assertThat(ring.requiresKeys()).isFalse();
    assertThat(ring.size()).isZero();
    assertThat(ring.anyLive()).isFalse();
  }
}
