package dev.sluice.admission;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A virtual API key as stored: never the key itself, only its SHA-256 and a short prefix to
 * recognise it by.
 *
 * @param models         models it may use; empty means all
 * @param rpm            requests per minute, or -1 for no limit
 * @param tpm            tokens per minute, or -1
 * @param maxConcurrency requests at once, or -1
 * @param maxTokens      largest {@code max_tokens} it may ask for, or -1
 * @param revokedAt      epoch millis, or -1 while live
 */
public record ApiKey(String id, String name, String hash, String prefix, Set<String> models, long rpm, long tpm,
    int maxConcurrency, Priority priority, int maxTokens, long createdAt, long revokedAt) {

  public ApiKey {
    models = Set.copyOf(models);
  }

  /** The longest name a key may have. */
  public static final int MAX_NAME = 100;

  /**
   * Why {@code name} cannot name a new key, or null when it can: it must have a visible character,
   * at most {@value #MAX_NAME} characters, no control characters (they garble listings and logs), and
   * must not look like a key's id ({@code key_...}), since a key is revoked by id or by name.
   */
  public static String nameProblem(String name) {
    String n = name == null ? "" : name.trim();
    if (n.isEmpty() || n.length() > MAX_NAME) {
      return "a key's name must be a non-empty name of at most " + MAX_NAME + " characters";
    }
    if (n.chars().anyMatch(Character::isISOControl)) {
      return "a key's name must not contain control characters";
    }
    if (n.startsWith("key_")) {
      return "a key's name must not begin with 'key_', which begins every key's id";
    }
    return null;
  }

  /**
   * Model names as people type them ({@code "a, b"} on a command line, or as text in a request):
   * without the spaces around them, blanks left out, in the order given.
   */
  public static Set<String> modelNames(Iterable<String> given) {
    Set<String> out = new LinkedHashSet<>();
    for (String m : given) {
      if (!m.isBlank()) {
        out.add(m.trim());
      }
    }
    return out;
  }

  public boolean revoked() {
    return revokedAt >= 0;
  }

  public boolean allows(String model) {
    return models.isEmpty() || models.contains(model);
  }
}
