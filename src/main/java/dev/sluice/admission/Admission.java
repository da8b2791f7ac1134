package dev.sluice.admission;

import dev.sluice.config.AdmissionConfig;
import dev.sluice.errors.ApiError;
import io.github.bucket4j.TimeMeter;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * The gateway's door (DESIGN.md 5): memory guard and global cap first, then the client's key (who
 * it is, which models it may use, its rates and concurrency). Every refusal is an OpenAI-shaped
 * error naming its reason, with {@code Retry-After} where waiting helps.
 */
public final class Admission {
  private final AdmissionConfig config;
  private final KeyRing keys;
  private final MemoryGuard memory;
  private final TimeMeter meter;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final ConcurrentHashMap<String, KeyLimits> limits = new ConcurrentHashMap<>();

  public Admission(AdmissionConfig config, KeyRing keys, MemoryGuard memory, TimeMeter meter) {
    this.config = config;
    this.keys = keys;
    this.memory = memory;
    this.meter = meter;
  }

  public AdmissionConfig config() {
    return config;
  }

  public KeyRing keys() {
    return keys;
  }

  public MemoryGuard memory() {
    return memory;
  }

  public int inFlight() {
    return inFlight.get();
  }

  /** A result: a ticket, or the error that refuses the request (and the reason to count). */
  public record Decision(Ticket ticket, ApiError error, String shedReason) {
    static Decision refuse(ApiError e, String reason) {
      return new Decision(null, e, reason);
    }
  }

  /** The checks that need no request body: memory, the global cap. */
  public Decision enter() {
    if (memory.refusing()) {
      return Decision.refuse(overloaded("memory_pressure",
          "the gateway is short of memory and refuses new work until it recovers", 2), "memory_pressure");
    }
    if (inFlight.incrementAndGet() > config.maxInFlight()) {
      inFlight.decrementAndGet();
      return Decision.refuse(overloaded("overloaded",
          "the gateway is serving its maximum of " + config.maxInFlight() + " requests", 1), "overloaded");
    }
    return new Decision(new Ticket(inFlight), null, null);
  }

  /**
   * Who is calling. Null when the request may go on (a live key, or no keys at all on loopback);
   * otherwise the 401 to send.
   */
  public ApiError authenticate(Ticket t, String authorization, boolean loopback) {
    return authenticate(t, authorization, () -> loopback);
  }

  /** The same, asking {@code loopback} only when the answer depends on it (no keys exist yet). */
  public ApiError authenticate(Ticket t, String authorization, BooleanSupplier loopback) {
    Caller c = identify(authorization, loopback);
    if (c.key() != null) {
      t.identify(limitsOf(c.key()));
      t.priority(c.key().priority());
    }
    return c.refusal();
  }

  /** The same judgement of a caller without admitting anything (for {@code /v1/models}). */
  public ApiError checkCaller(String authorization, BooleanSupplier loopback) {
    return identify(authorization, loopback).refusal();
  }

  /** A live key, or neither key nor refusal (served without a key), or the refusal. */
  private record Caller(ApiKey key, ApiError refusal) {}

  private static final Caller ANONYMOUS = new Caller(null, null);

  private Caller identify(String authorization, BooleanSupplier loopback) {
    String presented = bearer(authorization);
    ApiKey k = presented == null ? null : keys.lookup(presented);
    if (k == null) {
      if (!keys.requiresKeys() && config.openWithoutKeys() && loopback.getAsBoolean()) {
        return ANONYMOUS; // open gateway: a client's own provider-style key is not ours to judge
      }
      return new Caller(null, presented != null
          ? unauthorized("invalid_api_key", "the API key is not valid")
          : unauthorized("missing_api_key", keys.requiresKeys()
              ? "this gateway needs an API key: send 'Authorization: Bearer <key>'"
              : "no API keys exist yet, so only direct loopback clients are served (loopback address and Host,"
                  + " no forwarding headers, no foreign Origin); create a key with 'sluice keys create'"));
    }
    if (k.revoked()) {
      return new Caller(null, unauthorized("revoked_api_key", "the API key was revoked"));
    }
    return new Caller(k, null);
  }

  /** Per-key checks once the body is read: model allowed, max_tokens ceiling, rates, concurrency. */
  public Decision admitKey(Ticket t, String model, int maxTokens, int modelMaxTokens, long estimatedTokens) {
    return admitKey(t, model, model, maxTokens, modelMaxTokens, estimatedTokens);
  }

  /**
   * The largest {@code max_tokens} a request may have: the lower of its model's ceiling and its
   * key's (either may be absent, as -1 or {@code null}), or -1 when neither has one.
   */
  public static int tokenCeiling(int modelMaxTokens, ApiKey key) {
    if (key == null || key.maxTokens() <= 0) {
      return modelMaxTokens;
    }
    return modelMaxTokens > 0 ? Math.min(modelMaxTokens, key.maxTokens()) : key.maxTokens();
  }

  /** The same, {@code requested} being the name the client used (an alias of {@code model}, maybe). */
  public Decision admitKey(Ticket t, String model, String requested, int maxTokens, int modelMaxTokens,
      long estimatedTokens) {
    KeyLimits kl = t.keyLimits();
    ApiKey k = kl == null ? null : kl.key();
    // a key may name a model by any of its names: the configured one or the alias it was granted
    if (k != null && !k.allows(model) && !k.allows(requested)) {
      return Decision.refuse(new ApiError(403, "permission_error", "model_not_allowed", "model",
          "this API key may not use the model '" + model + "'"), null);
    }
    int ceiling = tokenCeiling(modelMaxTokens, k);
    if (ceiling > 0 && maxTokens > ceiling) {
      return Decision.refuse(ApiError.invalid("max_tokens_too_large", "max_tokens",
          "max_tokens " + maxTokens + " is above the " + ceiling + " allowed here"), null);
    }
    if (kl == null) {
      return new Decision(t, null, null);
    }
    long estimate = estimatedTokens;
    KeyLimits.Refusal r = kl.tryAdmit(estimate);
    if (r != null) {
      return Decision.refuse(new ApiError(429, "rate_limit_error", r.reason(), null, r.message(),
          r.retryAfterSeconds()), r.reason());
    }
    // from here the ticket carries the key's concurrency and the token estimate
    t.admitted(estimate);
    return new Decision(t, null, null);
  }

  private KeyLimits limitsOf(ApiKey k) {
    KeyLimits kl = limits.get(k.id());
    if (kl != null && kl.key().equals(k)) {
      return kl;
    }
    // first use, or the key's limits changed in the store: start its buckets afresh, once, even when
    // two event loops see the key at the same moment
    return limits.compute(k.id(), (id, old) -> old != null && old.key().equals(k) ? old : new KeyLimits(k, meter));
  }

  static String bearer(String authorization) {
    if (authorization == null) {
      return null;
    }
    String a = authorization.trim();
    if (a.regionMatches(true, 0, "Bearer ", 0, 7)) {
      String k = a.substring(7).trim();
      return k.isEmpty() ? null : k;
    }
    return null;
  }

  /** The estimate charged to a key's tokens per minute before the provider reports usage. */
  public static long estimateTokens(int bodyBytes, int maxTokens) {
    return estimateTokens(bodyBytes, maxTokens, 1);
  }

  /** With {@code n} answers asked for, each may use up to {@code max_tokens}. */
  public static long estimateTokens(int bodyBytes, int maxTokens, int choices) {
    return Math.max(1, bodyBytes / 4) + (long) Math.max(1, choices) * (maxTokens > 0 ? maxTokens : 256);
  }

  static ApiError unauthorized(String code, String message) {
    return new ApiError(401, "authentication_error", code, null, message);
  }

  static ApiError overloaded(String code, String message, long retryAfter) {
    return new ApiError(503, "overloaded_error", code, null, message, retryAfter);
  }
}
