package dev.sluice.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The byte-level reader of {@code usage} against a JSON parser: wherever it answers, it answers
 * what the parser reads; where it is unsure it declines, and {@link Usage#ofAnswer} still gives
 * the parser's answer.
 */
class UsageMemberTest {
  /** Usage members as providers send them: the reader must answer these itself. */
  @ParameterizedTest
  @ValueSource(strings = {
      "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34,\"total_tokens\":46}}",
      "\"usage\": {\n  \"prompt_tokens\": 9,\n  \"completion_tokens\": 0,\n  \"total_tokens\": 9\n}\n}",
      "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"
          + "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
          + "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"accepted_prediction_tokens\":0}},"
          + "\"system_fingerprint\":\"fp_{x}\"}",
      "\"usage\":{\"queue_time\":0.01,\"prompt_tokens\":5,\"prompt_time\":1.5e-3,\"completion_tokens\":7,"
          + "\"note\":\"a \\\"quoted\\\" } brace\",\"list\":[1,{\"a\":[]}],\"flag\":true,\"none\":null}}",
      "\"usage\":{\"completion_tokens\":3}}",
      "\"usage\":{\"total_tokens\":3}}",
      "\"usage\":{}}",
      "\"usage\":{\"prompt_tokens\":1,\"prompt_tokens\":2}}",
  })
  void readsTheUsualShapesAsAParserDoes(String member) {
    byte[] bytes = member.getBytes(StandardCharsets.UTF_8);
    Usage quick = UsageMember.read(bytes);
    assertThat(quick).as("answered without a parser").isNotNull();
    assertThat(quick).isEqualTo(Usage.parsed(bytes, Buffer.buffer("{" + member)));
  }

  /** Shapes it leaves to the parser; the answer of {@link Usage#ofAnswer} is the parser's. */
  @ParameterizedTest
  @ValueSource(strings = {
      "\"usage\":null}",
      "\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":2}}",
      "\"usage\":{\"prompt_tokens\":1.0,\"completion_tokens\":2}}",
      "\"usage\":{\"prompt_tokens\":12345678901,\"completion_tokens\":2}}",
      "\"usage\":{\"prompt_tokens\":012,\"completion_tokens\":2}}",
      "\"usage\":{\"prompt\\u005ftokens\":4,\"completion_tokens\":2}}",
      "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2",
      "\"usage\" : [1,2]}",
      "\"usage\":{\"prompt_tokens\":4 \"completion_tokens\":2}}",
  })
  void declinesWhatItDoesNotKnowAndTheParserDecides(String member) {
    byte[] bytes = member.getBytes(StandardCharsets.UTF_8);
    assertThat(UsageMember.read(bytes)).as("left to the parser").isNull();
    Buffer body = Buffer.buffer("{\"id\":\"x\"," + member);
    assertThat(Usage.ofAnswer(body)).isEqualTo(Usage.parsed(bytes, body));
  }
}
