package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.AtRest;
import dev.sluice.testing.GzipUpstream;
import dev.sluice.testing.TestGateway;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Content codings on both sides of the gateway: an upstream that compresses its answer (a provider
 * behind a CDN front) must reach the client as the JSON or events it is, with its first token and
 * token counts seen; what the client asks for or sends is handled on the client's side only.
 */
class ContentEncodingTest {
  static final String ANSWER = "{\"id\":\"chatcmpl-z\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
      + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello there\",\"refusal\":null},"
      + "\"logprobs\":null,\"finish_reason\":\"stop\"}],"
      + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}";
  static final String CHUNK = "{\"id\":\"chatcmpl-z\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",";
  static final List<String> EVENTS = List.of(
      CHUNK + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}",
      CHUNK + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}",
      CHUNK + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},\"finish_reason\":null}]}",
      CHUNK + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}",
      CHUNK + "\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}");

  static GzipUpstream up;
  static TestGateway gw;
  static OpenAIClient client;

  @BeforeAll
  static void start() {
    up = new GzipUpstream(ANSWER, EVENTS);
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        resilience: { retry: { max_attempts: 1 }, breaker: { enabled: false } }
        providers:
          up: { type: openai, base_url: "%s" }
        models:
          demo: { deployments: [{ id: up-a, provider: up, model: m, timeouts: { connect: 1s, first_token: 3s, idle: 3s } }] }
        """.formatted(up.baseUrl()));
    client = OpenAIOkHttpClient.builder().baseUrl(gw.baseUrl() + "/v1").apiKey("unused").maxRetries(0)
        .timeout(Duration.ofSeconds(20)).build();
  }

  @AfterAll
  static void stop() {
    client.close();
    gw.close();
    up.close();
  }

  @AfterEach
  void atRest() {
    up.always(true).label("gzip");
    AtRest.check(gw);
  }

  static ChatCompletionCreateParams.Builder chat() {
    return ChatCompletionCreateParams.builder().model("demo").addUserMessage("hello");
  }

  static RequestRecord record(String id) {
    return await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10)).until(
        () -> gw.gateway().recent().latest(20).stream().filter(r -> id.equals(r.id())).findFirst().orElse(null),
        r -> r != null);
  }

  static RequestRecord latest() {
    return record(gw.gateway().recent().latest(1).get(0).id());
  }

  @Test
  void aCompressedAnswerReachesTheSdkAsJsonWithItsTokensCounted() {
    ChatCompletion c = client.chat().completions().create(chat().build());
    assertThat(c.choices().get(0).message().content()).hasValue("Hello there");
    assertThat(up.lastHead()).contains("accept-encoding: identity\r\n");
    RequestRecord r = latest();
    assertThat(r.outcome()).isEqualTo(Outcome.SUCCESS);
    assertThat(r.promptTokens()).isEqualTo(12);
    assertThat(r.completionTokens()).isEqualTo(3);
  }

  @Test
  void aCompressedStreamIsRelayedAsEventsWithFirstTokenAndTokens() {
    StringBuilder text = new StringBuilder();
    long[] usage = {-1};
    ChatCompletionCreateParams p = chat().streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
        .build();
    try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(p)) {
      s.stream().forEach(ch -> {
        ch.choices().forEach(x -> x.delta().content().ifPresent(text::append));
        ch.usage().ifPresent(u -> usage[0] = u.completionTokens());
      });
    }
    assertThat(text.toString()).isEqualTo("Hello there");
    assertThat(usage[0]).isEqualTo(3);
    RequestRecord r = latest();
    assertThat(r.outcome()).isEqualTo(Outcome.SUCCESS);
    assertThat(r.firstTokenMs()).isGreaterThanOrEqualTo(0);
    assertThat(r.promptTokens()).isEqualTo(12);
    assertThat(r.completionTokens()).isEqualTo(3);
  }

  @Test
  void anAnswerInACodingTheGatewayCannotReadIsAProtocolErrorNotRelayedBytes() {
    up.label("br"); // no Brotli decoder on the classpath: the bytes would stay encoded
    Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> client.chat().completions().create(chat().build()));
    assertThat(t).isInstanceOfSatisfying(com.openai.errors.InternalServerException.class, e -> {
      assertThat(e.statusCode()).isEqualTo(502);
      assertThat(e.code()).hasValue("upstream_protocol_error");
      assertThat(e.getMessage()).contains("'br'");
    });
    assertThat(latest().outcome()).isEqualTo(Outcome.UPSTREAM_ERROR);
  }

  @Test
  void aClientsAcceptEncodingIsNotForwardedAndItsAnswerIsPlain() {
    up.always(false); // the upstream compresses only when asked to
    HttpResponse<byte[]> r = rawPost(TestGateway.chat(""), false);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-encoding")).isEmpty();
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("Hello there");
    assertThat(up.lastHead()).doesNotContain("gzip");
  }

  @Test
  void aCompressedRequestBodyIsRefusedAsAnUnsupportedCodingNotAsInvalidUtf8() {
    HttpResponse<byte[]> r = rawPost(TestGateway.chat(""), true);
    String body = new String(r.body(), StandardCharsets.UTF_8);
    assertThat(r.statusCode()).as(body).isEqualTo(415);
    assertThat(body).contains("\"code\":\"unsupported_content_encoding\"").contains("gzip");
    assertThat(r.headers().firstValue("accept-encoding")).hasValue("identity");
    assertThat(latest().outcome()).isEqualTo(Outcome.REJECTED);
  }

  static HttpResponse<byte[]> rawPost(String json, boolean gzipBody) {
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
        .header("content-type", "application/json").header("accept-encoding", "gzip, deflate, br");
    if (gzipBody) {
      ByteArrayOutputStream o = new ByteArrayOutputStream();
      try (GZIPOutputStream z = new GZIPOutputStream(o)) {
        z.write(b);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      b = o.toByteArray();
      rb.header("content-encoding", "gzip");
    }
    try {
      return java.net.http.HttpClient.newHttpClient().send(rb.POST(HttpRequest.BodyPublishers.ofByteArray(b))
          .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
