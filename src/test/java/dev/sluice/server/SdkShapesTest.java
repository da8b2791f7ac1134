package dev.sluice.server;

import static dev.sluice.testing.HttpHead.chunk;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.OpenAIServiceException;
import com.openai.errors.UnprocessableEntityException;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import com.openai.models.models.ModelListPage;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.AtRest;
import dev.sluice.testing.ScriptedUpstream;
import dev.sluice.testing.ScriptedUpstream.Step;
import dev.sluice.testing.TestGateway;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every field the official SDK parses, for the answers real clients get: from the built-in simulator
 * (model {@code demo}) and, for shapes the simulator does not make (n > 1, tool calls, logprobs),
 * from a provider that answers with OpenAI's own bytes (model {@code real}). Each answer is also
 * {@code validate()}d: the SDK checks every required field and type there.
 */
class SdkShapesTest {
  /** A real gpt-4o answer to n=2 with tools and logprobs (ids shortened). */
  static final String N2_TOOLS = "{\"id\":\"chatcmpl-B9\",\"object\":\"chat.completion\",\"created\":1741570283,"
      + "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
      + "\"tool_calls\":[{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
      + "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}],\"refusal\":null,\"annotations\":[]},\"logprobs\":null,"
      + "\"finish_reason\":\"tool_calls\"},{\"index\":1,\"message\":{\"role\":\"assistant\",\"content\":\"Bonjour\","
      + "\"refusal\":null,\"annotations\":[]},\"logprobs\":{\"content\":[{\"token\":\"Bon\",\"logprob\":-0.01,"
      + "\"bytes\":[66,111,110],\"top_logprobs\":[{\"token\":\"Bon\",\"logprob\":-0.01,\"bytes\":[66,111,110]}]}],"
      + "\"refusal\":null},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,"
      + "\"total_tokens\":29,\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
      + "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
      + "\"rejected_prediction_tokens\":0}},\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fc9f1d7035\"}";

  static final String C = "{\"id\":\"chatcmpl-B8\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,"
      + "\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fc9f1d7035\",";
  /** A real stream for n=2 with a tool call in choice 0 and text in choice 1, include_usage on. */
  static final List<String> N2_STREAM = List.of(
      C + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,"
          + "\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}],"
          + "\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}",
      C + "\"choices\":[{\"index\":1,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
          + "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}",
      C + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\"}}]},"
          + "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}",
      C + "\"choices\":[{\"index\":1,\"delta\":{\"content\":\"Bonjour\"},\"logprobs\":null,\"finish_reason\":null}],"
          + "\"usage\":null}",
      C + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
          + "\"\\\":\\\"Paris\\\"}\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}",
      C + "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],\"usage\":null}",
      C + "\"choices\":[{\"index\":1,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}",
      C + "\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"
          + "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},\"completion_tokens_details\":"
          + "{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}");

  static ScriptedUpstream up;
  static final List<String> bodies = new ArrayList<>();
  static TestGateway gw;
  static OpenAIClient client;

  @BeforeAll
  static void start() {
    up = new ScriptedUpstream(body -> {
      synchronized (bodies) {
        bodies.add(body);
      }
      if (body.contains("\"stream\":true")) {
        StringBuilder sb = new StringBuilder(ScriptedUpstream.SSE_HEAD);
        N2_STREAM.forEach(e -> sb.append(chunk("data: " + e + "\n\n")));
        sb.append(chunk("data: [DONE]\n\n")).append("0\r\n\r\n");
        return List.<Step>of(ScriptedUpstream.write(sb.toString()));
      }
      byte[] b = N2_TOOLS.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      return List.<Step>of(ScriptedUpstream.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
          + b.length + "\r\n\r\n" + N2_TOOLS));
    });
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        resilience: { retry: { max_attempts: 1 }, breaker: { enabled: false } }
        providers:
          sim: { type: sim, seed: 5 }
          up: { type: openai, base_url: "%s" }
        models:
          demo: { deployments: [{ id: sim-a, provider: sim, model: sim-fast }] }
          real: { deployments: [{ id: up-a, provider: up, model: gpt-4o }] }
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
    AtRest.check(gw);
  }

  static RequestRecord latest() {
    return org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
        .until(() -> gw.gateway().recent().latest(1).get(0), r -> r.outcome() != null);
  }

  static String lastBody() {
    synchronized (bodies) {
      return bodies.get(bodies.size() - 1);
    }
  }

  // ---- the simulator ------------------------------------------------------------------------

  @Test
  void simChatValidatesWithEveryField() {
    ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("demo")
        .addUserMessage("hi").maxCompletionTokens(5).user("u-1").build());
    c.validate();
    assertThat(c.id()).isNotBlank();
    assertThat(c.created()).isPositive();
    assertThat(c.choices()).singleElement().satisfies(ch -> {
      assertThat(ch.index()).isZero();
      assertThat(ch.message()._role()).isEqualTo(JsonValue.from("assistant"));
      assertThat(ch.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    });
    assertThat(c.usage().orElseThrow().totalTokens())
        .isEqualTo(c.usage().get().promptTokens() + c.usage().get().completionTokens());
  }

  @Test
  void simStreamChunksValidate() {
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(
        ChatCompletionCreateParams.builder().model("demo").addUserMessage("hi").maxCompletionTokens(5)
            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      s.stream().forEach(chunks::add);
    }
    chunks.forEach(ChatCompletionChunk::validate);
    assertThat(chunks.get(chunks.size() - 1).usage()).isPresent();
    assertThat(chunks).filteredOn(ch -> !ch.choices().isEmpty()
        && ch.choices().get(0).finishReason().isPresent()).hasSize(1);
    RequestRecord r = latest();
    assertThat(r.completionTokens()).isBetween(1, 5);
  }

  @Test
  void simAnswersNChoicesWhenAskedForN() {
    ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("demo")
        .addUserMessage("hi").maxCompletionTokens(4).n(3).build());
    c.validate();
    assertThat(c.choices()).extracting(ChatCompletion.Choice::index).containsExactly(0L, 1L, 2L);
    long perChoice = c.choices().get(0).message().content().orElseThrow().split(" ").length - 1;
    assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(3 * perChoice);

    java.util.Map<Long, StringBuilder> texts = new java.util.TreeMap<>();
    List<String> finishes = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(
        ChatCompletionCreateParams.builder().model("demo").addUserMessage("hi").maxCompletionTokens(4).n(2)
            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      s.stream().forEach(ch -> {
        ch.validate();
        ch.choices().forEach(x -> {
          x.delta().content().ifPresent(t -> texts.computeIfAbsent(x.index(), k -> new StringBuilder()).append(t));
          x.finishReason().ifPresent(f -> finishes.add(x.index() + ":" + f.asString()));
        });
      });
    }
    assertThat(texts).containsOnlyKeys(0L, 1L);
    assertThat(texts.get(1L).toString()).isEqualTo(texts.get(0L).toString()).isNotBlank();
    assertThat(finishes).containsExactly("0:stop", "1:stop");

    Completion two = client.completions().create(CompletionCreateParams.builder().model("demo").prompt("once")
        .maxTokens(4).n(2).build());
    two.validate();
    assertThat(two.choices()).extracting(x -> x.index()).containsExactly(0L, 1L);
  }

  @Test
  void simCompletionValidates() {
    Completion c = client.completions().create(CompletionCreateParams.builder().model("demo").prompt("once")
        .maxTokens(4).build());
    c.validate();
    assertThat(c.choices().get(0).finishReason()).isEqualTo(com.openai.models.completions.CompletionChoice.FinishReason.STOP);
    assertThat(c.usage()).isPresent();
  }

  @Test
  void simEmbeddingsValidateInBothEncodings() {
    for (EmbeddingCreateParams.EncodingFormat f : List.of(EmbeddingCreateParams.EncodingFormat.FLOAT,
        EmbeddingCreateParams.EncodingFormat.BASE64)) {
      CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model("demo")
          .input("hello").encodingFormat(f).build());
      r.validate();
      assertThat(r.data().get(0).embedding()).as(f.toString()).hasSize(16);
      assertThat(r.usage().promptTokens()).isPositive();
    }
    CreateEmbeddingResponse two = client.embeddings().create(EmbeddingCreateParams.builder().model("demo")
        .inputOfArrayOfStrings(List.of("a", "b")).build());
    two.validate();
    assertThat(two.data()).as("one embedding per input").extracting(e -> e.index()).containsExactly(0L, 1L);
  }

  @Test
  void modelsListAndRetrieve() {
    ModelListPage page = client.models().list();
    page.data().forEach(Model::validate);
    assertThat(page.data()).extracting(Model::id).contains("demo", "real");
    Model m = client.models().retrieve("demo");
    m.validate();
    assertThat(m.id()).isEqualTo("demo");
    assertThat(m.ownedBy()).isEqualTo("sim");
    assertThat(catchThrowable(() -> client.models().retrieve("nope")))
        .isInstanceOfSatisfying(NotFoundException.class, e -> assertThat(e.code()).hasValue("model_not_found"));
  }

  // ---- real OpenAI shapes through the gateway ----------------------------------------------

  @Test
  void nTwoWithToolsLogprobsAndExtraFieldsPassesThroughWhole() {
    ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("real")
        .addUserMessage("weather?").n(2).logprobs(true).topLogprobs(1).user("user-42")
        .responseFormat(ResponseFormatJsonObject.builder().build())
        .putAdditionalBodyProperty("x_vendor", JsonValue.from(Map.of("a", List.of(1, "two", false))))
        .build());
    c.validate();
    assertThat(c.choices()).hasSize(2);
    assertThat(c.choices().get(0).message().toolCalls().orElseThrow().get(0).asFunction().function().arguments())
        .isEqualTo("{\"city\":\"Paris\"}");
    assertThat(c.choices().get(1).logprobs().orElseThrow().content().orElseThrow().get(0).bytes())
        .hasValue(List.of(66L, 111L, 110L));
    assertThat(c.systemFingerprint()).hasValue("fp_fc9f1d7035");
    assertThat(c.usage().orElseThrow().completionTokensDetails().orElseThrow().reasoningTokens()).hasValue(0L);
    String sent = lastBody();
    assertThat(sent).contains("\"user\":\"user-42\"", "\"n\":2", "\"logprobs\":true", "\"top_logprobs\":1",
        "\"response_format\":{\"type\":\"json_object\"}", "\"x_vendor\":{\"a\":[1,\"two\",false]}",
        "\"model\":\"gpt-4o\"");
    RequestRecord r = latest();
    assertThat(r.outcome()).isEqualTo(Outcome.SUCCESS);
    assertThat(r.promptTokens()).isEqualTo(19);
    assertThat(r.completionTokens()).isEqualTo(10);
  }

  @Test
  void nTwoStreamWithToolCallsIsAssembledWhole() {
    StringBuilder args = new StringBuilder();
    StringBuilder text = new StringBuilder();
    List<String> finishes = new ArrayList<>();
    long[] usage = {-1};
    try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(
        ChatCompletionCreateParams.builder().model("real").addUserMessage("weather?").n(2)
            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      s.stream().forEach(ch -> {
        ch.validate();
        ch.usage().ifPresent(u -> usage[0] = u.completionTokens());
        ch.choices().forEach(x -> {
          if (x.index() == 0) {
            x.delta().toolCalls().ifPresent(t -> t.forEach(tc -> tc.function().flatMap(f -> f.arguments())
                .ifPresent(args::append)));
          } else {
            x.delta().content().ifPresent(text::append);
          }
          x.finishReason().ifPresent(f -> finishes.add(x.index() + ":" + f.asString()));
        });
      });
    }
    assertThat(args.toString()).isEqualTo("{\"city\":\"Paris\"}");
    assertThat(text.toString()).isEqualTo("Bonjour");
    assertThat(finishes).containsExactly("0:tool_calls", "1:stop");
    assertThat(usage[0]).isEqualTo(10);
    RequestRecord r = latest();
    assertThat(r.outcome()).isEqualTo(Outcome.SUCCESS);
    assertThat(r.firstTokenMs()).isGreaterThanOrEqualTo(0);
    assertThat(r.completionTokens()).isEqualTo(10);
  }

  // ---- errors the SDK parses ---------------------------------------------------------------

  @Test
  void gatewayErrorsAreTheSdksTypedExceptions() {
    Throwable bad = catchThrowable(() -> client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model("demo").addUserMessage("hi").maxCompletionTokens(0).build()));
    assertThat(bad).isInstanceOfSatisfying(BadRequestException.class, e -> {
      assertThat(e.code()).hasValue("invalid_value");
      assertThat(e.param()).hasValue("max_completion_tokens");
      assertThat(e.type()).hasValue("invalid_request_error");
    });
    Throwable notFound = catchThrowable(() -> client.embeddings().create(EmbeddingCreateParams.builder()
        .model("nope").input("x").build()));
    assertThat(notFound).isInstanceOf(NotFoundException.class);
    Throwable upstream422 = catchThrowable(() -> client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model("demo").addUserMessage("hi").putAdditionalBodyProperty("sim",
            JsonValue.from(Map.of("error_rate", 1, "error_statuses", List.of(422)))).build()));
    assertThat(upstream422).isInstanceOf(UnprocessableEntityException.class);
    assertThat(((OpenAIServiceException) upstream422).statusCode()).isEqualTo(422);
  }
}
