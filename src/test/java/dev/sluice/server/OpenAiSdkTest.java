package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.InternalServerException;
import com.openai.errors.NotFoundException;
import com.openai.errors.OpenAIServiceException;
import com.openai.errors.RateLimitException;
import com.openai.errors.SseException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import com.openai.models.models.ModelListPage;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.TestGateway;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK, as an application would use it, pointed at the gateway. */
class OpenAiSdkTest {
  static final String CONFIG = """
      server: { port: 0, event_loops: 1 }
      resilience: { retry: { max_attempts: 1 } }
      providers:
        sim:
          type: sim
          seed: 3
          timeouts: { connect: 1s, first_byte: 2s, first_token: 2s, idle: 300ms, total: 3s, stream_total: 10s }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast }
      """;

  static TestGateway gw;
  static OpenAIClient client;

  @BeforeAll
  static void start() {
    gw = TestGateway.start(CONFIG);
    client = OpenAIOkHttpClient.builder()
        .baseUrl(gw.baseUrl() + "/v1")
        .apiKey("unused")
        .maxRetries(0)
        .timeout(Duration.ofSeconds(20))
        .build();
  }

  @AfterAll
  static void stop() {
    client.close();
    gw.close();
  }

  @AfterEach
  void atRest() {
    gw.awaitAtRest();
  }

  static ChatCompletionCreateParams.Builder chat() {
    return ChatCompletionCreateParams.builder().model("demo").addUserMessage("hello").maxCompletionTokens(12);
  }

  static RequestRecord latest() {
    return gw.gateway().recent().latest(1).get(0);
  }

  /**
   * Waits for the newest record to have {@code outcome}. The gateway records a request right after
   * it ends the response, so a client that has read the end may look before the record is there.
   */
  static void awaitLatest(Outcome outcome) {
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
        .untilAsserted(() -> assertThat(latest().outcome()).isEqualTo(outcome));
  }

  @Test
  void nonStreamingChat() {
    ChatCompletion c = client.chat().completions().create(chat().build());
    assertThat(c.choices()).hasSize(1);
    assertThat(c.choices().get(0).message().content()).hasValueSatisfying(t -> assertThat(t).isNotBlank());
    assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    assertThat(c.usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isBetween(1L, 12L));
  }

  @Test
  void streamingChatAssembledIntoText() {
    ChatCompletionCreateParams params = chat()
        .putAdditionalBodyProperty("sim", JsonValue.from(Map.of("output_tokens", 10)))
        .build();
    StringBuilder text = new StringBuilder();
    int chunks = 0;
    try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params)) {
      for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) s.stream()::iterator) {
        chunks++;
        chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append));
      }
    }
    assertThat(chunks).isGreaterThanOrEqualTo(10);
    assertThat(text.toString().split(" ")).hasSizeGreaterThanOrEqualTo(10);
    assertThat(text.toString()).startsWith(" the gateway keeps time");
    awaitLatest(Outcome.SUCCESS);
  }

  @Test
  void streamingChatReportsUsageWhenAsked() {
    ChatCompletionCreateParams params = chat()
        .streamOptions(com.openai.models.chat.completions.ChatCompletionStreamOptions.builder().includeUsage(true).build())
        .build();
    long[] completionTokens = {-1};
    try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params)) {
      s.stream().forEach(chunk -> chunk.usage().ifPresent(u -> completionTokens[0] = u.completionTokens()));
    }
    assertThat(completionTokens[0]).isBetween(1L, 12L);
  }

  @Test
  void completions() {
    Completion c = client.completions().create(CompletionCreateParams.builder()
        .model("demo").prompt("once upon a time").maxTokens(8).build());
    assertThat(c.choices()).hasSize(1);
    assertThat(c.choices().get(0).text()).isNotBlank();
  }

  @Test
  void streamingCompletions() {
    StringBuilder text = new StringBuilder();
    try (var s = client.completions().createStreaming(CompletionCreateParams.builder()
        .model("demo").prompt("once upon a time").maxTokens(8).build())) {
      s.stream().forEach(c -> c.choices().forEach(ch -> text.append(ch.text())));
    }
    assertThat(text.toString()).isNotBlank();
  }

  @Test
  void embeddings() {
    CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder()
        .model("demo").input("hello world").encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());
    assertThat(r.data()).hasSize(1);
    List<Float> v = r.data().get(0).embedding();
    assertThat(v).hasSize(16).allSatisfy(x -> assertThat(x).isBetween(-1f, 1f));
  }

  @Test
  void modelsList() {
    ModelListPage page = client.models().list();
    assertThat(page.data()).extracting(Model::id).contains("demo");
  }

  @Test
  void anUnknownModelIsTheSdksNotFoundException() {
    assertThatThrownBy(() -> client.chat().completions().create(chat().model("no-such-model").build()))
        .isInstanceOfSatisfying(NotFoundException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(404);
          assertThat(e.code()).hasValue("model_not_found");
          assertThat(e.param()).hasValue("model");
        });
  }

  @Test
  void aProviderErrorIsTheSdksServerException() {
    ChatCompletionCreateParams params = chat()
        .putAdditionalBodyProperty("sim", JsonValue.from(Map.of("error_rate", 1, "error_statuses", List.of(503))))
        .build();
    assertThatThrownBy(() -> client.chat().completions().create(params))
        .isInstanceOfSatisfying(InternalServerException.class, e -> assertThat(e.statusCode()).isEqualTo(503));
  }

  @Test
  void aRateLimitIsTheSdksRateLimitException() {
    ChatCompletionCreateParams params = chat()
        .putAdditionalBodyProperty("sim", JsonValue.from(Map.of("rate_limit_rate", 1, "retry_after", 3)))
        .build();
    assertThatThrownBy(() -> client.chat().completions().create(params))
        .isInstanceOfSatisfying(RateLimitException.class, e ->
            assertThat(e.headers().values("retry-after")).containsExactly("3"));
  }

  @Test
  void aGuardBeforeTheCommitPointIsAGatewayTimeoutForTheSdk() {
    ChatCompletionCreateParams params = chat()
        .putAdditionalBodyProperty("sim", JsonValue.from(Map.of("hang_before_headers", 1)))
        .build();
    Throwable t = catchThrowable(() -> client.chat().completions().create(params));
    assertThat(t).isInstanceOf(OpenAIServiceException.class);
    OpenAIServiceException e = (OpenAIServiceException) t;
    assertThat(e.statusCode()).isEqualTo(504);
    assertThat(e.body().toString()).contains("first_byte_timeout");
  }

  @Test
  void aStreamTruncatedAfterCommitIsAnExceptionNotACleanEnd() {
    ChatCompletionCreateParams params = chat()
        .maxCompletionTokens(40)
        .putAdditionalBodyProperty("sim", JsonValue.from(Map.of("hang_mid_stream", 1, "output_tokens", 20)))
        .build();
    StringBuilder text = new StringBuilder();
    Throwable thrown;
    try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params)) {
      thrown = catchThrowable(() -> s.stream().forEach(chunk ->
          chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append))));
    }
    assertThat(text.toString()).as("tokens before the stall reached the application").isNotEmpty();
    assertThat(thrown).as("the SDK must not report a truncated stream as finished")
        .isInstanceOfSatisfying(SseException.class, e -> {
          assertThat(e.type()).hasValue("idle_timeout");
          assertThat(e.code()).hasValue("stream_truncated");
        });
    awaitLatest(Outcome.TRUNCATED);
  }

  @Test
  void aClientBudgetSentThroughTheSdkCutsAStreamWithADeadlineEvent() {
    ChatCompletionCreateParams params = chat()
        .maxCompletionTokens(100)
        .putAdditionalHeader("X-Request-Timeout", "800ms")
        .putAdditionalBodyProperty("sim", JsonValue.from(Map.of("output_tokens", 100, "tokens_per_second", 20)))
        .build();
    Throwable thrown;
    try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params)) {
      thrown = catchThrowable(() -> s.stream().forEach(chunk -> { }));
    }
    assertThat(thrown).isInstanceOfSatisfying(SseException.class,
        e -> assertThat(e.type()).hasValue("deadline_exceeded"));
  }
}
