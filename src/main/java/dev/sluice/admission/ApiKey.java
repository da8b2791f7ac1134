package dev.sluice.admission;

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

  public boolean revoked() {
    return revokedAt >= 0;
  }

  public boolean allows(String model) {
    return models.isEmpty() || models.contains(model);
  }
}
