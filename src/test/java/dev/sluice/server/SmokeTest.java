package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.sluice.testing.TestGateway;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SmokeTest {
  static TestGateway gw;

  @BeforeAll
  static void start() {
    gw = TestGateway.start(TestGateway.SIMPLE);
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  @Test
  void plainHttpChat() {
    HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat(null));
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-sluice-deployment")).hasValue("sim-a");
    assertThat(r.body()).contains("chat.completion");
    gw.awaitAtRest();
  }

  @Test
  void openAiSdkStreamsAndNot() {
    OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(gw.baseUrl() + "/v1").apiKey("unused").build();
    ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
        .model("demo").addUserMessage("hello").maxCompletionTokens(8).build();
    ChatCompletion c = client.chat().completions().create(params);
    assertThat(c.choices().get(0).message().content()).isPresent();
    StringBuilder text = new StringBuilder();
    try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params)) {
      s.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append)));
    }
    assertThat(text.toString()).isNotBlank();
    gw.awaitAtRest();
  }
}
