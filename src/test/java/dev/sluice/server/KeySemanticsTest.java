package dev.sluice.server;

import static dev.sluice.server.AdmissionHttp.auth;
import static dev.sluice.server.AdmissionHttp.chatAsync;
import static dev.sluice.server.AdmissionHttp.createKey;
import static dev.sluice.server.AdmissionHttp.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.server.AdmissionHttp.Reply;
import dev.sluice.testing.Calls;
import dev.sluice.testing.TestGateway;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeySemanticsTest {
  static final String ADMIN = "admin-REVIEW6-secret";
  private static final AtomicInteger NAMES = new AtomicInteger();
  @TempDir
  static Path dir;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    String profile = Calls.profile(dir, """
        defaults: { first_token: 5ms, tokens_per_second: 5000, max_output_tokens: 16 }
        models:
          bad: { error_rate: 1, error_statuses: [503] }
          fast: {}
        """);
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          sim: { type: sim, profile: %s }
        resilience:
          breaker: { enabled: false }
          budget: { ratio: 10, min_per_second: 1000 }
        admission:
          queue: { max_wait: 1ms }
        models:
          cheap:
            aliases: [cheap-alias]
            deployments:
              - { id: c-bad, provider: sim, model: bad }
            fallbacks: [premium]
          premium:
            max_tokens: 20
            deployments:
              - { id: p-ok, provider: sim, model: fast }
          demo:
            deployments:
              - { id: d-one, provider: sim, model: fast, max_concurrency: 1 }
        """.formatted(profile), Map.of("SLUICE_ADMIN_KEY", ADMIN));
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  static String newKey(String fields) {
    String json = "{\"name\":\"r" + NAMES.incrementAndGet() + "\"," + fields + "}";
    return createKey(gw, ADMIN, json).get("key").asText();
  }

  static Reply chatModel(String key, String model, String extra) {
    return send(gw, "POST", "/v1/chat/completions", "{\"model\":\"" + model
        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + (extra == null ? "" : "," + extra) + "}",
        auth(key));
  }

  /** A key restricted to 'cheap' must not be served by 'premium', even as cheap's fallback. */
  @Test
  void aKeyRestrictedToOneModelIsNotServedByAnotherThroughFallbacks() {
    String k = newKey("\"models\":[\"cheap\"]");
    assertThat(chatModel(k, "premium", null).status()).as("premium directly").isEqualTo(403);
    Reply r = chatModel(k, "cheap", null);
    assertThat(r.header("x-sluice-deployment")).as("served by " + r).isNotEqualTo(java.util.Optional.of("p-ok"));
  }

  /** premium's max_tokens ceiling (20) applies when premium serves, fallback or not. */
  @Test
  void aFallbackModelsMaxTokensCeilingHolds() {
    assertThat(chatModel(newKey("\"priority\":\"normal\""), "premium", "\"max_tokens\":500").status()).isEqualTo(400);
    Reply r = chatModel(newKey("\"priority\":\"normal\""), "cheap", "\"max_tokens\":500");
    assertThat(r.status() == 200 && r.header("x-sluice-deployment").equals(java.util.Optional.of("p-ok")))
        .as("premium served max_tokens 500 above its 20 ceiling: " + r).isFalse();
  }

  /** A key granted a model by its alias may use that alias. */
  @Test
  void aKeyGrantedAnAliasMayUseIt() {
    String k = newKey("\"models\":[\"cheap-alias\"]");
    Reply r = chatModel(k, "cheap-alias", null);
    assertThat(r.status()).as(r.toString()).isNotEqualTo(403);
  }

  /** The key's max_tokens ceiling cannot be escaped by leaving max_tokens out. */
  @Test
  void aGatewayQueueRefusalDoesNotCostTheKeysRpm() throws Exception {
    String holder = newKey("\"priority\":\"normal\"");
    String k = newKey("\"rpm\":2");
    // hold demo's only slot
    CompletableFuture<Reply> hold = chatAsync(gw, holder, "\"sim\":{\"first_token\":\"1500ms\"}");
    await().atMost(Duration.ofSeconds(5)).until(() -> gw.ledger().slotsHeld() == 1);
    Reply a = AdmissionHttp.chat(gw, k, null);
    Reply b = AdmissionHttp.chat(gw, k, null);
    assertThat(a.status()).as(a.toString()).isEqualTo(503);
    assertThat(b.status()).as(b.toString()).isEqualTo(503);
    hold.get();
    gw.awaitAtRest();
    // the gateway said come back later; the key has used none of its 2 requests
    Reply c = AdmissionHttp.chat(gw, k, null);
    assertThat(c.status()).as("after two gateway refusals: " + c).isEqualTo(200);
  }
}
