package dev.sluice.admission;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Makes keys and their digests. Keys are 190 bits of randomness, so a fast SHA-256 is the right
 * digest (a slow password hash protects low-entropy secrets, not these).
 */
public final class KeyHash {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
  public static final String PREFIX = "sk-sluice-";

  private KeyHash() {}

  public static String newKey() {
    StringBuilder sb = new StringBuilder(PREFIX);
    for (int i = 0; i < 32; i++) {
      sb.append(ALPHABET[RANDOM.nextInt(ALPHABET.length)]);
    }
    return sb.toString();
  }

  public static String newId() {
    StringBuilder sb = new StringBuilder("key_");
    for (int i = 0; i < 12; i++) {
      sb.append(ALPHABET[RANDOM.nextInt(ALPHABET.length)]);
    }
    return sb.toString();
  }

  public static String sha256Hex(String key) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** What a key is shown as in lists and logs: its first characters. */
  public static String displayPrefix(String key) {
    return key.substring(0, Math.min(key.length(), PREFIX.length() + 4)) + "...";
  }

  /** Compares two digests in time that does not depend on where they differ. */
  public static boolean same(String hexA, String hexB) {
    return MessageDigest.isEqual(hexA.getBytes(StandardCharsets.US_ASCII), hexB.getBytes(StandardCharsets.US_ASCII));
  }
}
