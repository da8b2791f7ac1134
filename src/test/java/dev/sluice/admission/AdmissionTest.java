package dev.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.AdmissionConfig;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The door's decisions, without HTTP: memory, global cap, who the caller is, what its key allows. */
class AdmissionTest {
  private final KeyLimitsTest.FakeMeter meter = new KeyLimitsTest.FakeMeter();
  private final KeyRing ring = new KeyRing();
  private double heap = 0.1;
  private final MemoryGuard memory = new MemoryGuard(0.85, 0.75, () -> heap);

  private Admission admission(int maxInFlight, boolean open) {
    return new Admission(new AdmissionConfig(maxInFlight, 10, null, Map.of("high", 0.6, "normal", 0.3, "low", 0.1), 0.85,
        0.75, AdmissionConfig.Limit.DEFAULTS, open), ring, memory, meter);
  }

  private static ApiKey key(String secret, Set<String> models, long rpm, int maxTokens, Priority p, long revokedAt) {
    return new ApiKey("key_" + secret.hashCode(), "k", KeyHash.sha256Hex(secret), "p", models, rpm, -1, -1, p,
        maxTokens, 0, revokedAt);
  }

  @Test
  void memoryPressureRefusesBeforeAnythingElseAndHoldsNothing() {
    Admission a = admission(10, true);
    heap = 0.9;
    memory.check();
    Admission.Decision d = a.enter();
    assertThat(d.ticket()).isNull();
    assertThat(d.shedReason()).isEqualTo("memory_pressure");
    assertThat(d.error().status()).isEqualTo(503);
    assertThat(d.error().code()).isEqualTo("memory_pressure");
    assertThat(d.error().retryAfterSeconds()).isPositive();
    assertThat(a.inFlight()).isZero();
    heap = 0.5;
    memory.check();
    assertThat(a.enter().ticket()).isNotNull();
  }

  @Test
  void theGlobalCapRefusesTheOneTooManyAndFreesOnRelease() {
    Admission a = admission(2, true);
    Ticket t1 = a.enter().ticket();
    Ticket t2 = a.enter().ticket();
    Admission.Decision third = a.enter();
    assertThat(third.shedReason()).isEqualTo("overloaded");
    assertThat(third.error().status()).isEqualTo(503);
    assertThat(third.error().retryAfterSeconds()).isPositive();
    assertThat(a.inFlight()).isEqualTo(2);
    t1.release(-1);
    t1.release(-1);
    assertThat(a.inFlight()).isEqualTo(1);
    assertThat(a.enter().ticket()).isNotNull();
    t2.release(-1);
  }

  @Test
  void withoutKeysOnlyLoopbackIsOpen() {
    Admission a = admission(10, true);
    assertThat(a.authenticate(a.enter().ticket(), null, true)).isNull();
    assertThat(a.authenticate(a.enter().ticket(), "Bearer sk-provider-style", true)).as("not ours to judge").isNull();
    assertThat(a.authenticate(a.enter().ticket(), null, false).code()).isEqualTo("missing_api_key");
    assertThat(a.authenticate(a.enter().ticket(), "Bearer x", false).code()).isEqualTo("invalid_api_key");
    Admission closed = admission(10, false);
    assertThat(closed.authenticate(closed.enter().ticket(), null, true).status()).isEqualTo(401);
  }

  @Test
  void withALiveKeyEveryoneNeedsOne() {
    String secret = KeyHash.newKey();
    String old = KeyHash.newKey();
    ring.replace(List.of(key(secret, Set.of(), -1, -1, Priority.HIGH, -1), key(old, Set.of(), -1, -1, Priority.LOW, 9)));
    Admission a = admission(10, true);
    assertThat(a.authenticate(a.enter().ticket(), null, true).code()).isEqualTo("missing_api_key");
    assertThat(a.authenticate(a.enter().ticket(), "Bearer ", true).code()).isEqualTo("missing_api_key");
    assertThat(a.authenticate(a.enter().ticket(), "Basic " + secret, true).code()).isEqualTo("missing_api_key");
    assertThat(a.authenticate(a.enter().ticket(), "Bearer nope", true).code()).isEqualTo("invalid_api_key");
    assertThat(a.authenticate(a.enter().ticket(), "Bearer " + old, true).code()).isEqualTo("revoked_api_key");
    Ticket t = a.enter().ticket();
    assertThat(a.authenticate(t, "bearer  " + secret + " ", false)).isNull();
    assertThat(t.priority()).isEqualTo(Priority.HIGH);
    assertThat(t.apiKey().hash()).isEqualTo(KeyHash.sha256Hex(secret));
    for (String code : List.of("missing_api_key", "invalid_api_key", "revoked_api_key")) {
      assertThat(code).doesNotContain(secret);
    }
  }

  @Test
  void theKeysModelsAndTheLowerMaxTokensCeilingApply() {
    String secret = KeyHash.newKey();
    ring.replace(List.of(key(secret, Set.of("demo"), -1, 100, Priority.NORMAL, -1)));
    Admission a = admission(10, true);
    Ticket t = a.enter().ticket();
    a.authenticate(t, "Bearer " + secret, true);
    Admission.Decision d = a.admitKey(t, "other", 10, -1, 10);
    assertThat(d.error().status()).isEqualTo(403);
    assertThat(d.error().code()).isEqualTo("model_not_allowed");
    assertThat(d.error().param()).isEqualTo("model");
    d = a.admitKey(t, "demo", 101, -1, 10);
    assertThat(d.error().status()).isEqualTo(400);
    assertThat(d.error().code()).isEqualTo("max_tokens_too_large");
    assertThat(d.error().param()).isEqualTo("max_tokens");
    assertThat(a.admitKey(t, "demo", 60, 50, 10).error().message()).contains("50"); // the model's is lower
    assertThat(a.admitKey(t, "demo", 100, 500, 10).error()).isNull(); // the key's is lower
    assertThat(t.keyLimits().active()).isEqualTo(1);
  }

  @Test
  void aModelsCeilingAppliesWithoutAKey() {
    Admission a = admission(10, true);
    Ticket t = a.enter().ticket();
    assertThat(a.admitKey(t, "demo", 9, 8, 10).error().code()).isEqualTo("max_tokens_too_large");
    assertThat(a.admitKey(t, "demo", 8, 8, 10).error()).isNull();
    assertThat(a.admitKey(t, "demo", 0, -1, 10).error()).isNull();
  }

  @Test
  void rateRefusalsAre429WithRetryAfterAndAReason() {
    String secret = KeyHash.newKey();
    ring.replace(List.of(key(secret, Set.of(), 1, -1, Priority.NORMAL, -1)));
    Admission a = admission(10, true);
    Ticket t1 = a.enter().ticket();
    a.authenticate(t1, "Bearer " + secret, true);
    assertThat(a.admitKey(t1, "demo", 0, -1, 10).error()).isNull();
    Ticket t2 = a.enter().ticket();
    a.authenticate(t2, "Bearer " + secret, true);
    Admission.Decision d = a.admitKey(t2, "demo", 0, -1, 10);
    assertThat(d.shedReason()).isEqualTo("rate_limited");
    assertThat(d.error().status()).isEqualTo(429);
    assertThat(d.error().type()).isEqualTo("rate_limit_error");
    assertThat(d.error().code()).isEqualTo("rate_limited");
    assertThat(d.error().retryAfterSeconds()).isEqualTo(60);
  }

  @Test
  void aKeysLimitsSurviveBetweenRequestsButStartAfreshWhenTheKeyChanges() {
    String secret = KeyHash.newKey();
    ApiKey k = key(secret, Set.of(), 1, -1, Priority.NORMAL, -1);
    ring.replace(List.of(k));
    Admission a = admission(10, true);
    Ticket t = a.enter().ticket();
    a.authenticate(t, "Bearer " + secret, true);
    KeyLimits first = t.keyLimits();
    Ticket t2 = a.enter().ticket();
    a.authenticate(t2, "Bearer " + secret, true);
    assertThat(t2.keyLimits()).isSameAs(first);
    ring.replace(List.of(new ApiKey(k.id(), k.name(), k.hash(), k.prefix(), k.models(), 5, -1, -1, k.priority(), -1,
        0, -1)));
    Ticket t3 = a.enter().ticket();
    a.authenticate(t3, "Bearer " + secret, true);
    assertThat(t3.keyLimits()).isNotSameAs(first);
    assertThat(t3.keyLimits().key().rpm()).isEqualTo(5);
  }

  @Test
  void theTokenEstimateCoversThePromptAndTheAnswer() {
    assertThat(Admission.estimateTokens(400, 50)).isEqualTo(150);
    assertThat(Admission.estimateTokens(0, 0)).isEqualTo(1 + 256);
    assertThat(Admission.estimateTokens(400, 50, 3)).as("n answers may each use max_tokens").isEqualTo(100 + 150);
  }
}
