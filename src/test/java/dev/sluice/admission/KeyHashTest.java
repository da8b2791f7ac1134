package dev.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KeyHashTest {

  @Test
  void newKeysAreLongRandomAndPrefixed() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      String k = KeyHash.newKey();
      assertThat(k).matches("sk-sluice-[A-Za-z0-9]{32}");
      assertThat(seen.add(k)).isTrue();
    }
    assertThat(KeyHash.newId()).matches("key_[A-Za-z0-9]{12}");
  }

  @Test
  void digestIsSha256Hex() {
    assertThat(KeyHash.sha256Hex("abc"))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assertThat(KeyHash.sha256Hex("")).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }

  @Test
  void theDisplayPrefixRevealsOnlyFourCharactersOfTheSecret() {
    String k = "sk-sluice-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    assertThat(KeyHash.displayPrefix(k)).isEqualTo("sk-sluice-ABCD...");
    assertThat(KeyHash.displayPrefix("short")).isEqualTo("short...");
  }

  @Test
  void sameComparesWholeDigests() {
    String a = KeyHash.sha256Hex("a");
    assertThat(KeyHash.same(a, KeyHash.sha256Hex("a"))).isTrue();
    assertThat(KeyHash.same(a, KeyHash.sha256Hex("b"))).isFalse();
    assertThat(KeyHash.same(a, a.substring(0, 63))).isFalse();
    assertThat(KeyHash.same(a, "")).isFalse();
  }
}
