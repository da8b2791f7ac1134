package dev.sluice.provider.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ProviderConfig;
import dev.sluice.config.Secret;
import dev.sluice.config.Timeouts;
import dev.sluice.envelope.Endpoint;
import dev.sluice.provider.UpstreamRequest;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the adapter sends, as a real server receives it. */
class OpenAiCompatibleTest {
  Vertx vertx;
  HttpServer server;
  HttpClient client;
  CompletableFuture<MultiMap> received;
  CompletableFuture<String> receivedBody;
  CompletableFuture<String> receivedUri;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    received = new CompletableFuture<>();
    receivedBody = new CompletableFuture<>();
    receivedUri = new CompletableFuture<>();
    server = vertx.createHttpServer().requestHandler(req -> {
      receivedUri.complete(req.uri());
      received.complete(MultiMap.caseInsensitiveMultiMap().addAll(req.headers()));
      req.body().onSuccess(b -> {
        receivedBody.complete(b.toString());
        req.response().end("{}");
      });
    }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    client = vertx.createHttpClient();
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  ProviderConfig provider(String key, Map<String, String> headers) {
    return provider("/v1/", key, headers);
  }

  ProviderConfig provider(String pathAndQuery, String key, Map<String, String> headers) {
    return new ProviderConfig("p", "openai", null, URI.create("http://127.0.0.1:" + server.actualPort() + pathAndQuery),
        key == null ? Secret.empty() : Secret.of(key), headers, Timeouts.DEFAULTS, 16, false, true, null, false, null);
  }

  MultiMap send(UpstreamRequest r) throws Exception {
    client.request(r.options()).compose(req -> req.send(r.body())).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    return received.get(10, TimeUnit.SECONDS);
  }

  @Test
  void sendsTheBodyWithTheProvidersKeyTheBudgetAndTheRequestId() throws Exception {
    OpenAiCompatible a = new OpenAiCompatible(provider("sk-test-1", Map.of()));
    UpstreamRequest r = a.request(Endpoint.CHAT, true, Buffer.buffer("{\"model\":\"m\"}"), 2_500_000_000L, 1000, "req-7");
    MultiMap h = send(r);
    assertThat(h.get("content-type")).isEqualTo("application/json");
    assertThat(h.get("accept")).isEqualTo("text/event-stream");
    assertThat(h.get("authorization")).isEqualTo("Bearer sk-test-1");
    assertThat(h.get("x-request-timeout")).isEqualTo("2500ms");
    assertThat(h.get("x-request-id")).isEqualTo("req-7");
    assertThat(receivedBody.get(10, TimeUnit.SECONDS)).isEqualTo("{\"model\":\"m\"}");
    assertThat(r.options().getURI()).isEqualTo("/v1/chat/completions");
  }

  @Test
  void theBaseUrlsQueryGoesWithEveryRequestAfterTheEndpointsPath() throws Exception {
    // Azure OpenAI's deployment URLs need ?api-version=...; it was dropped without a word
    OpenAiCompatible a = new OpenAiCompatible(provider("/openai/deployments/gpt/?api-version=2024-10-21", "k", Map.of()));
    send(a.request(Endpoint.CHAT, false, Buffer.buffer("{}"), Long.MAX_VALUE, 1000, null));
    assertThat(receivedUri.get(10, TimeUnit.SECONDS))
        .isEqualTo("/openai/deployments/gpt/chat/completions?api-version=2024-10-21");
  }

  @Test
  void withoutKeyBudgetOrIdNoneOfThemIsSentAndTheProvidersHeadersComeLastAndWin() throws Exception {
    OpenAiCompatible a = new OpenAiCompatible(provider(null, Map.of("X-Org", "acme", "Accept", "application/x-ndjson")));
    MultiMap h = send(a.request(Endpoint.CHAT, false, Buffer.buffer("{}"), Long.MAX_VALUE, 1000, null));
    assertThat(h.contains("authorization")).isFalse();
    assertThat(h.contains("x-request-timeout")).isFalse();
    assertThat(h.contains("x-request-id")).isFalse();
    assertThat(h.get("x-org")).isEqualTo("acme");
    assertThat(h.getAll("accept")).containsExactly("application/x-ndjson");
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({
      "openai, http://127.0.0.1:1/v1, CHAT, max_completion_tokens",
      "openai, http://127.0.0.1:1/v1, COMPLETIONS, max_tokens",
      ", https://api.openai.com/v1, CHAT, max_completion_tokens",
      ", https://my-res.openai.azure.com/openai/v1, CHAT, max_completion_tokens",
      "groq, https://api.groq.com/openai/v1, CHAT, max_tokens",
      ", http://vllm:8000/v1, CHAT, max_tokens",
      ", https://api.openai.com.example.net/v1, CHAT, max_tokens",
  })
  void aTokenLimitTheGatewayAddsGoesWhereTheServerTakesIt(String preset, String url, Endpoint endpoint,
      String field) {
    ProviderConfig p = new ProviderConfig("p", "openai", preset, URI.create(url), Secret.empty(), Map.of(),
        Timeouts.DEFAULTS, 16, false, true, null, false, null);
    assertThat(new OpenAiCompatible(p).tokenLimitField(endpoint)).isEqualTo(field);
  }
}
