package dev.sluice.server;

import static dev.sluice.server.AdmissionHttp.assertError;
import static dev.sluice.server.AdmissionHttp.assertRetryAfter;
import static dev.sluice.server.AdmissionHttp.auth;
import static dev.sluice.server.AdmissionHttp.chat;
import static dev.sluice.server.AdmissionHttp.chatAsync;
import static dev.sluice.server.AdmissionHttp.createKey;
import static dev.sluice.server.AdmissionHttp.send;
import static dev.sluice.server.AdmissionHttp.shed;
import static dev.sluice.server.AdmissionHttp.shedAll;
import static dev.sluice.server.AdmissionHttp.slow;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ModelConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.server.AdmissionHttp.Reply;
import dev.sluice.testing.TestGateway;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every refusal that depends on the client's key, over real HTTP: status, OpenAI's error shape
 * naming the reason, Retry-After and x-ratelimit-* where they apply, the shed counter by reason,
 * no provider called, and nothing left held.
 */
class KeyRefusalTest {
  static final String ADMIN = "admin-KEYREFUSAL-secret";
  static final String YAML = """
      server: { port: 0, event_loops: 1 }
      providers:
        sim: { type: sim, seed: 7 }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast }
        other:
          deployments:
            - { id: sim-b, provider: sim, model: sim-fast }
        capped:
          max_tokens: 4
          deployments:
            - { id: sim-c, provider: sim, model: sim-fast }
      """;
  private static final AtomicInteger NAMES = new AtomicInteger();

  static TestGateway gw;
  /** A live key with no limits: once one exists, every request needs a key. */
  static String anyKey;
  private long providerBefore;
  private double shedBefore;

  @BeforeAll
  static void start() {
    gw = TestGateway.start(YAML, Map.of("SLUICE_ADMIN_KEY", ADMIN));
    anyKey = newKey("{}");
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  /** A fresh key with these fields (a JSON object's members, or {@code {}}), its secret returned. */
  static String newKey(String fields) {
    String name = "k" + NAMES.incrementAndGet();
    String json = fields.equals("{}") ? "{\"name\":\"" + name + "\"}"
        : "{\"name\":\"" + name + "\"," + fields.substring(1);
    return createKey(gw, ADMIN, json).get("key").asText();
  }

  @BeforeEach
  void before() {
    gw.awaitAtRest();
    providerBefore = gw.sim().stats().requests();
    shedBefore = shedAll(gw);
  }

  @AfterEach
  void after() {
    gw.awaitAtRest();
  }

  /** The refused request reached no provider (call once every other request of the test is done). */
  private void assertNoProviderCallBeyond(long expectedOthers) {
    gw.awaitAtRest();
    assertThat(gw.sim().stats().requests() - providerBefore).as("requests the provider saw").isEqualTo(expectedOthers);
  }

  private void assertNotShed() {
    assertThat(shedAll(gw)).as("an access refusal is not load shedding").isEqualTo(shedBefore);
  }

  private static void assertNoRateHeaders(Reply r) {
    assertThat(r.header("retry-after")).isEmpty();
    assertThat(r.header("x-sluice-deployment")).isEmpty();
  }

  @Test
  void missingKeyIs401() {
    Reply r = chat(gw, null, null);
    JsonNode e = assertError(r, 401, "authentication_error", "missing_api_key");
    assertThat(e.get("message").asText()).contains("Authorization: Bearer");
    assertNoRateHeaders(r);
    assertError(send(gw, "POST", "/v1/chat/completions", TestGateway.chat(null), "authorization", "Basic " + anyKey),
        401, "authentication_error", "missing_api_key");
    assertError(send(gw, "POST", "/v1/chat/completions", TestGateway.chat(null), "authorization", "Bearer "),
        401, "authentication_error", "missing_api_key");
    assertNoProviderCallBeyond(0);
    assertNotShed();
  }

  @Test
  void unknownKeyIs401() {
    Reply r = chat(gw, "sk-sluice-DoesNotExist0000000000000000", null);
    assertError(r, 401, "authentication_error", "invalid_api_key");
    assertThat(r.body()).doesNotContain("DoesNotExist");
    assertNoRateHeaders(r);
    assertError(chat(gw, anyKey + "x", null), 401, "authentication_error", "invalid_api_key");
    assertError(chat(gw, anyKey.substring(0, anyKey.length() - 1), null), 401, "authentication_error",
        "invalid_api_key");
    assertNoProviderCallBeyond(0);
    assertNotShed();
  }

  @Test
  void aRevokedKeyIs401AtOnce() {
    String byName = "revoke-me-" + NAMES.incrementAndGet();
    String k = createKey(gw, ADMIN, "{\"name\":\"" + byName + "\"}").get("key").asText();
    assertThat(chat(gw, k, null).status()).isEqualTo(200);
    Reply revoked = send(gw, "DELETE", "/admin/keys/" + byName, null, auth(ADMIN));
    assertThat(revoked.status()).isEqualTo(200);
    assertThat(revoked.json().get("revoked_at").asLong()).isPositive();
    Reply r = chat(gw, k, null); // no wait: effective at once
    assertError(r, 401, "authentication_error", "revoked_api_key");
    assertNoRateHeaders(r);

    JsonNode other = createKey(gw, ADMIN, "{\"name\":\"revoke-by-id-" + NAMES.incrementAndGet() + "\"}");
    String k2 = other.get("key").asText();
    assertThat(send(gw, "POST", "/admin/keys/" + other.get("id").asText() + "/revoke", null, auth(ADMIN)).status())
        .isEqualTo(200);
    assertError(chat(gw, k2, null), 401, "authentication_error", "revoked_api_key");
    assertNoProviderCallBeyond(1);
    assertNotShed();
  }

  @Test
  void aModelTheKeyMayNotUseIs403() {
    String k = newKey("{\"models\":[\"demo\"]}");
    Reply r = send(gw, "POST", "/v1/chat/completions",
        "{\"model\":\"other\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", auth(k));
    JsonNode e = assertError(r, 403, "permission_error", "model_not_allowed");
    assertThat(e.get("param").asText()).isEqualTo("model");
    assertThat(e.get("message").asText()).contains("other");
    assertNoRateHeaders(r);
    assertNoProviderCallBeyond(0);
    assertThat(chat(gw, k, null).status()).as("its own model").isEqualTo(200);
    assertNoProviderCallBeyond(1);
    assertNotShed();
  }

  @Test
  void maxTokensAboveTheKeysCeilingIs400() {
    String k = newKey("{\"max_tokens\":50}");
    for (String field : new String[] {"max_tokens", "max_completion_tokens"}) {
      Reply r = chat(gw, k, "\"" + field + "\":51");
      JsonNode e = assertError(r, 400, "invalid_request_error", "max_tokens_too_large");
      assertThat(e.get("param").asText()).isEqualTo("max_tokens");
      assertThat(e.get("message").asText()).contains("50");
      assertNoRateHeaders(r);
    }
    assertNoProviderCallBeyond(0);
    assertThat(chat(gw, k, "\"max_tokens\":50").status()).isEqualTo(200);
    assertNoProviderCallBeyond(1);
    assertNotShed();
  }

  /**
   * A request that sets no limit is held to the key's or the model's ceiling: the gateway adds it
   * to the body it forwards (the simulator's answers are 16-48 tokens long unless limited).
   */
  @Test
  void aCeilingBindsARequestThatSetsNoLimit() {
    String k = newKey("{\"max_tokens\":5}");
    Reply keyed = chat(gw, k, null);
    assertThat(keyed.status()).isEqualTo(200);
    assertThat(keyed.json().get("usage").get("completion_tokens").asInt()).as("key ceiling").isBetween(1, 5);
    Reply streamed = chat(gw, k, "\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    assertThat(streamed.status()).isEqualTo(200);
    assertThat(streamed.body()).contains("\"completion_tokens\":").doesNotContain("\"error\"");
    int streamedTokens = Integer.parseInt(streamed.body().replaceAll("(?s).*\"completion_tokens\":(\\d+).*", "$1"));
    assertThat(streamedTokens).as("key ceiling, streamed").isBetween(1, 5);

    Reply model = send(gw, "POST", "/v1/chat/completions", TestGateway.chat(null).replace("\"demo\"", "\"capped\""),
        auth(anyKey));
    assertThat(model.status()).isEqualTo(200);
    assertThat(model.json().get("usage").get("completion_tokens").asInt()).as("model ceiling").isBetween(1, 4);
    Reply both = send(gw, "POST", "/v1/chat/completions", TestGateway.chat(null).replace("\"demo\"", "\"capped\""),
        auth(k));
    assertThat(both.json().get("usage").get("completion_tokens").asInt()).as("the lower of the two").isBetween(1, 4);

    Reply unlimited = chat(gw, anyKey, null);
    assertThat(unlimited.json().get("usage").get("completion_tokens").asInt()).as("no ceiling: the model's length")
        .isGreaterThanOrEqualTo(16);
    assertNoProviderCallBeyond(5);
  }

  @Test
  void requestsPerMinuteExceededIs429WithRetryAfterAndRateHeaders() {
    String k = newKey("{\"rpm\":2}");
    Reply ok = chat(gw, k, null);
    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.header("x-ratelimit-limit-requests")).hasValue("2");
    assertThat(ok.header("x-ratelimit-remaining-requests")).hasValue("1");
    assertThat(chat(gw, k, null).status()).isEqualTo(200);
    double before = shed(gw, "rate_limited");

    Reply r = chat(gw, k, null);
    JsonNode e = assertError(r, 429, "rate_limit_error", "rate_limited");
    assertThat(e.get("message").asText()).contains("2 requests per minute");
    long wait = assertRetryAfter(r);
    assertThat(wait).as("2 per minute: one back within 30 s").isBetween(20L, 30L);
    assertThat(r.header("x-ratelimit-limit-requests")).hasValue("2");
    assertThat(r.header("x-ratelimit-remaining-requests")).hasValue("0");
    assertThat(r.header("x-ratelimit-reset-requests")).isPresent();
    assertThat(shed(gw, "rate_limited")).isEqualTo(before + 1);
    assertNoProviderCallBeyond(2);
  }

  @Test
  void tokensPerMinuteExceededIs429AndAnOverEstimateIsRefundedFromUsage() throws Exception {
    String k = newKey("{\"tpm\":1000}");
    // the first request is charged its estimate (body/4 + max_tokens) while it runs
    CompletableFuture<Reply> first = chatAsync(gw, k, "\"max_tokens\":600," + slow(1500));
    await().atMost(Duration.ofSeconds(10)).until(() -> gw.sim().stats().requests() == providerBefore + 1);
    double before = shed(gw, "rate_limited");

    Reply r = chat(gw, k, "\"max_tokens\":600");
    JsonNode e = assertError(r, 429, "rate_limit_error", "rate_limited");
    assertThat(e.get("message").asText()).contains("1000 tokens per minute");
    assertRetryAfter(r);
    assertThat(r.header("x-ratelimit-limit-tokens")).hasValue("1000");
    assertThat(Long.parseLong(r.header("x-ratelimit-remaining-tokens").orElseThrow())).isLessThan(400);
    assertThat(r.header("x-ratelimit-reset-tokens")).isPresent();
    assertThat(r.header("x-ratelimit-limit-requests")).as("the key has no request rate").isEmpty();
    assertThat(shed(gw, "rate_limited")).isEqualTo(before + 1);

    Reply done = first.get(30, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(done.status()).isEqualTo(200);
    long used = done.json().get("usage").get("total_tokens").asLong();
    assertThat(used).isLessThan(200);
    assertNoProviderCallBeyond(1);
    // the provider reported far fewer tokens than estimated: the difference came back at once
    Reply again = chat(gw, k, "\"max_tokens\":600");
    assertThat(again.status()).as("%s", again).isEqualTo(200);
  }

  @Test
  void theKeysMaxConcurrencyIs429Concurrency() throws Exception {
    String k = newKey("{\"max_concurrency\":1}");
    CompletableFuture<Reply> running = chatAsync(gw, k, slow(1500));
    await().atMost(Duration.ofSeconds(10)).until(() -> gw.sim().stats().requests() == providerBefore + 1);
    double before = shed(gw, "concurrency");

    Reply r = chat(gw, k, null);
    JsonNode e = assertError(r, 429, "rate_limit_error", "concurrency");
    assertThat(e.get("message").asText()).contains("1 requests in flight");
    assertThat(assertRetryAfter(r)).isEqualTo(1);
    assertThat(shed(gw, "concurrency")).isEqualTo(before + 1);
    assertThat(chat(gw, anyKey, null).status()).as("other keys are not affected").isEqualTo(200);

    assertThat(running.get(30, java.util.concurrent.TimeUnit.SECONDS).status()).isEqualTo(200);
    assertNoProviderCallBeyond(2);
    assertThat(chat(gw, k, null).status()).as("its slot is back").isEqualTo(200);
  }

  /** A key's concurrency is held for a whole stream and given back when it ends or its client leaves. */
  @Test
  void aStreamHoldsTheKeysConcurrencyUntilItEndsOrItsClientLeaves() throws Exception {
    String k = newKey("{\"max_concurrency\":1}");
    Reply done = chat(gw, k, "\"stream\":true");
    assertThat(done.status()).isEqualTo(200);
    assertThat(done.body()).contains("data: [DONE]");
    assertThat(chat(gw, k, "\"stream\":true").status()).as("given back at the end").isEqualTo(200);

    byte[] body = TestGateway.chat("\"stream\":true,\"sim\":{\"tokens_per_second\":5,\"output_tokens\":100}")
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.gateway().port())) {
      s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\n"
          + "content-type: application/json\r\nauthorization: Bearer " + k + "\r\ncontent-length: " + body.length
          + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      s.getOutputStream().write(body);
      s.getOutputStream().flush();
      byte[] head = new byte[12];
      assertThat(s.getInputStream().readNBytes(head, 0, 12)).isEqualTo(12);
      assertThat(new String(head, java.nio.charset.StandardCharsets.ISO_8859_1)).isEqualTo("HTTP/1.1 200");
      assertError(chat(gw, k, null), 429, "rate_limit_error", "concurrency");
    }
    gw.awaitAtRest();
    assertThat(chat(gw, k, null).status()).as("given back when the client left").isEqualTo(200);
  }

  /** The model's own ceiling, with the model configured in code (see the disabled YAML case below). */
  @Test
  void maxTokensAboveTheModelsCeilingIs400() {
    SluiceConfig c = new ConfigLoader(Map.of()).loadText(TestGateway.SIMPLE, "test");
    Map<String, ModelConfig> models = new LinkedHashMap<>();
    c.models().forEach((n, m) -> models.put(n, new ModelConfig(m.name(), m.aliases(), m.deployments(), m.fallbacks(),
        m.resilience(), 100)));
    try (TestGateway g = TestGateway.start(new SluiceConfig(c.server(), c.deadline(), c.resilience(), c.store(),
        c.admission(), c.adminKey(), c.providers(), models, c.source()))) {
      Reply r = chat(g, null, "\"max_tokens\":101");
      JsonNode e = assertError(r, 400, "invalid_request_error", "max_tokens_too_large");
      assertThat(e.get("param").asText()).isEqualTo("max_tokens");
      assertThat(e.get("message").asText()).contains("100");
      g.awaitAtRest();
      assertThat(g.sim().stats().requests()).isZero();
      assertThat(chat(g, null, "\"max_tokens\":100").status()).isEqualTo(200);
      g.awaitAtRest();
    }
  }

  @Test
  void aModelsMaxTokensIsReadFromYaml() {
    try (TestGateway g = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, seed: 7 }
        models:
          demo:
            max_tokens: 100
            deployments:
              - { id: sim-a, provider: sim, model: sim-fast }
        """)) {
      assertError(chat(g, null, "\"max_tokens\":101"), 400, "invalid_request_error", "max_tokens_too_large");
    }
  }
}
