package dev.sluice.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sluice.errors.ApiError;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class EnvelopeReaderTest {
  private static final int MAX_MESSAGES = 4;
  private final EnvelopeReader reader = new EnvelopeReader(1 << 20, MAX_MESSAGES);

  private static final String MSG = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

  private Envelope read(String json, Endpoint endpoint) {
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    return reader.read(b, b.length, endpoint);
  }

  private Envelope chat(String json) {
    return read(json, Endpoint.CHAT);
  }

  private static String slice(byte[] b, int start, int end) {
    return new String(b, start, end - start, StandardCharsets.UTF_8);
  }

  // ---- what is read --------------------------------------------------------------------------

  @Test
  void readsEveryFieldRoutingNeeds() {
    String json = "{\"model\":\"demo\"," + MSG.replace("]", ",{\"role\":\"assistant\",\"content\":\"yo\"}]")
        + ",\"stream\":true,\"max_tokens\":64,\"timeout\":2.5,\"stream_options\":{\"include_usage\":true}}";
    Envelope e = chat(json);
    assertThat(e.endpoint()).isEqualTo(Endpoint.CHAT);
    assertThat(e.model()).isEqualTo("demo");
    assertThat(e.stream()).isTrue();
    assertThat(e.maxTokens()).isEqualTo(64);
    assertThat(e.timeoutNanos()).isEqualTo(2_500_000_000L);
    assertThat(e.messageCount()).isEqualTo(2);
    assertThat(e.includeUsage()).isTrue();
    assertThat(e.bodyLength()).isEqualTo(json.getBytes(StandardCharsets.UTF_8).length);
    assertThat(e.hasTimeoutField()).isTrue();
  }

  @Test
  void defaultsWhenOptionalFieldsAreAbsent() {
    Envelope e = chat("{\"model\":\"demo\"," + MSG + "}");
    assertThat(e.stream()).isFalse();
    assertThat(e.maxTokens()).isEqualTo(-1);
    assertThat(e.timeoutNanos()).isEqualTo(-1);
    assertThat(e.includeUsage()).isFalse();
    assertThat(e.hasTimeoutField()).isFalse();
    assertThat(e.timeoutStart()).isEqualTo(-1);
    assertThat(e.timeoutEnd()).isEqualTo(-1);
    assertThat(e.messageCount()).isEqualTo(1);
  }

  @Test
  void nullMeansAbsentForOptionalFields() {
    Envelope e = chat("{\"model\":\"demo\"," + MSG
        + ",\"stream\":null,\"max_tokens\":null,\"temperature\":null,\"n\":null,\"stream_options\":null}");
    assertThat(e.stream()).isFalse();
    assertThat(e.maxTokens()).isEqualTo(-1);
    assertThat(e.includeUsage()).isFalse();
  }

  @Test
  void whenBothTokenLimitsAreGivenTheLargerIsWhatTheRequestMayCost() {
    assertThat(chat("{\"model\":\"demo\"," + MSG + ",\"max_tokens\":40,\"max_completion_tokens\":12}").maxTokens())
        .isEqualTo(40);
    assertThat(chat("{\"model\":\"demo\"," + MSG + ",\"max_completion_tokens\":50,\"max_tokens\":12}").maxTokens())
        .isEqualTo(50);
  }

  @Test
  void nIsReadAsTheNumberOfChoices() {
    assertThat(chat("{\"model\":\"demo\"," + MSG + "}").choices()).isEqualTo(1);
    assertThat(chat("{\"model\":\"demo\"," + MSG + ",\"n\":4}").choices()).isEqualTo(4);
    assertThat(chat("{\"model\":\"" + "m".repeat(256) + "\"," + MSG + "}").model()).hasSize(256);
  }

  @Test
  void maxCompletionTokensIsReadLikeMaxTokens() {
    assertThat(chat("{\"model\":\"demo\"," + MSG + ",\"max_completion_tokens\":12}").maxTokens()).isEqualTo(12);
  }

  @Test
  void nestedFieldsWithGatewayNamesAreNotMistakenForTopLevelOnes() {
    Envelope e = chat("{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"model\":\"other\",\"stream\":true,"
        + "\"timeout\":\"soon\"}],\"metadata\":{\"model\":7,\"max_tokens\":\"lots\"},\"model\":\"demo\"}");
    assertThat(e.model()).isEqualTo("demo");
    assertThat(e.stream()).isFalse();
    assertThat(e.hasTimeoutField()).isFalse();
    assertThat(e.maxTokens()).isEqualTo(-1);
  }

  @Test
  void duplicatesOfFieldsTheGatewayIgnoresAreLeftToTheProvider() {
    Envelope e = chat("{\"model\":\"demo\"," + MSG + ",\"user\":\"a\",\"user\":\"b\",\"temperature\":1,"
        + "\"temperature\":0,\"messages2\":[{\"role\":\"user\",\"role\":\"system\"}]}");
    assertThat(e.model()).isEqualTo("demo");
  }

  @Test
  void unknownFieldsOfAnyShapeAreAccepted() {
    Envelope e = chat("{\"model\":\"demo\"," + MSG + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
        + "\"parameters\":{\"type\":\"object\",\"properties\":{}}}}],\"seed\":1,\"logit_bias\":{\"50256\":-100},"
        + "\"user\":null,\"response_format\":{\"type\":\"json_object\"},\"x\":[[[]]],\"y\":1.5e-3}");
    assertThat(e.model()).isEqualTo("demo");
  }

  @ParameterizedTest
  @ValueSource(strings = {"1", "0.001", "86400", "1e2", "1E+2", "2.5"})
  void timeoutInSecondsIsAccepted(String value) {
    Envelope e = chat("{\"model\":\"demo\"," + MSG + ",\"timeout\":" + value + "}");
    assertThat(e.timeoutNanos()).isEqualTo((long) (Double.parseDouble(value) * 1e9));
  }

  @Test
  void completionsAndEmbeddingsAreRead() {
    Envelope c = read("{\"model\":\"demo\",\"prompt\":\"Say hi\",\"max_tokens\":5,\"stream\":true}", Endpoint.COMPLETIONS);
    assertThat(c.model()).isEqualTo("demo");
    assertThat(c.stream()).isTrue();
    assertThat(c.maxTokens()).isEqualTo(5);
    assertThat(c.messageCount()).isZero();
    assertThat(read("{\"model\":\"demo\",\"prompt\":[\"a\",\"b\"]}", Endpoint.COMPLETIONS).model()).isEqualTo("demo");
    assertThat(read("{\"model\":\"demo\",\"prompt\":[[1,2,3]]}", Endpoint.COMPLETIONS).model()).isEqualTo("demo");

    assertThat(read("{\"model\":\"e\",\"input\":\"text\"}", Endpoint.EMBEDDINGS).model()).isEqualTo("e");
    assertThat(read("{\"input\":[\"a\",\"b\"],\"model\":\"e\"}", Endpoint.EMBEDDINGS).model()).isEqualTo("e");
    assertThat(read("{\"input\":[[1,2],[3]],\"model\":\"e\",\"stream\":false}", Endpoint.EMBEDDINGS).model())
        .isEqualTo("e");
  }

  @Test
  void messagesAreNotRequiredOutsideChat() {
    // and are not checked either: they mean nothing to /v1/completions
    assertThat(read("{\"model\":\"demo\",\"prompt\":\"p\",\"messages\":\"ignored\"}", Endpoint.COMPLETIONS).model())
        .isEqualTo("demo");
  }

  @Test
  void onlyTheGivenLengthOfTheArrayIsRead() {
    byte[] body = ("{\"model\":\"demo\"," + MSG + "}").getBytes(StandardCharsets.UTF_8);
    byte[] padded = Arrays.copyOf(body, body.length + 16);
    Arrays.fill(padded, body.length, padded.length, (byte) 'x');
    Envelope e = reader.read(padded, body.length, Endpoint.CHAT);
    assertThat(e.model()).isEqualTo("demo");
    assertThat(e.bodyLength()).isEqualTo(body.length);
  }

  @Test
  void aLeadingByteOrderMarkIsTolerated() {
    byte[] body = ("\uFEFF{\"model\":\"demo\"," + MSG + "}").getBytes(StandardCharsets.UTF_8);
    assertThat(reader.read(body, body.length, Endpoint.CHAT).model()).isEqualTo("demo");
  }

  // ---- offsets -------------------------------------------------------------------------------

  @Test
  void modelOffsetsSpanTheQuotedValue() {
    String json = "{ \"messages\" : [{\"role\":\"user\",\"content\":\"hi\"}],  \"model\" :  \"demo\"  }";
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    Envelope e = reader.read(b, b.length, Endpoint.CHAT);
    assertThat(slice(b, e.modelStart(), e.modelEnd())).isEqualTo("\"demo\"");
  }

  @Test
  void offsetsAreByteOffsetsAfterMultiByteCharacters() {
    String json = "{\"messages\":[{\"role\":\"user\",\"content\":\"日本語 ☃ \uD83D\uDE00 é\"}],\"timeout\":3,"
        + "\"model\":\"模型-ü\"}";
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    assertThat(b.length).isGreaterThan(json.length());
    Envelope e = reader.read(b, b.length, Endpoint.CHAT);
    assertThat(e.model()).isEqualTo("模型-ü");
    assertThat(slice(b, e.modelStart(), e.modelEnd())).isEqualTo("\"模型-ü\"");
    assertThat(slice(b, e.timeoutStart(), e.timeoutEnd())).isEqualTo("\"timeout\":3");
  }

  @Test
  void modelOffsetsCoverEscapedQuotesAndBackslashes() {
    String json = "{\"model\":\"a\\\"b\\\\\"," + MSG + "}"; // the model is a"b\
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    Envelope e = reader.read(b, b.length, Endpoint.CHAT);
    assertThat(e.model()).isEqualTo("a\"b\\");
    assertThat(slice(b, e.modelStart(), e.modelEnd())).isEqualTo("\"a\\\"b\\\\\"");
  }

  @Test
  void modelOffsetsWithUnicodeEscapes() {
    String json = "{\"model\":\"d\\u0065mo\"," + MSG + "}";
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    Envelope e = reader.read(b, b.length, Endpoint.CHAT);
    assertThat(e.model()).isEqualTo("demo");
    assertThat(slice(b, e.modelStart(), e.modelEnd())).isEqualTo("\"d\\u0065mo\"");
  }

  static Stream<Arguments> timeoutMembers() {
    return Stream.of(
        Arguments.of("\"timeout\":5", "5"),
        Arguments.of("\"timeout\" : 2.5", "2.5"),
        Arguments.of("\"timeout\":\n\t1e1", "1e1"),
        Arguments.of("\"timeout\":1E+2", "1E+2"),
        Arguments.of("\"timeout\":0.25", "0.25"),
        Arguments.of("\"timeout\":null", "null"),
        Arguments.of("\"timeout\" :  null", "null"),
        Arguments.of("\"time\\u006fut\":7", "7"));
  }

  @ParameterizedTest
  @MethodSource("timeoutMembers")
  void timeoutOffsetsSpanKeyToEndOfValue(String member, String value) {
    for (String json : new String[] {
        "{" + member + ",\"model\":\"demo\"," + MSG + "}",
        "{\"model\":\"demo\", " + member + " ," + MSG + "}",
        "{\"model\":\"demo\"," + MSG + "," + member + "}",
        "{\"model\":\"demo\"," + MSG + ",\n  " + member + "\n}"}) {
      byte[] b = json.getBytes(StandardCharsets.UTF_8);
      Envelope e = reader.read(b, b.length, Endpoint.CHAT);
      assertThat(e.hasTimeoutField()).as(json).isTrue();
      assertThat(slice(b, e.timeoutStart(), e.timeoutEnd())).as(json).isEqualTo(member);
      assertThat(member).endsWith(value);
      assertThat(e.timeoutNanos()).as(json)
          .isEqualTo(value.equals("null") ? -1 : (long) (Double.parseDouble(value) * 1e9));
    }
  }

  // ---- rejections ----------------------------------------------------------------------------

  private static final String OK_CHAT = "{\"model\":\"demo\"," + MSG;

  static Stream<Arguments> rejections() {
    return Stream.of(
        // not JSON, or not one JSON object
        Arguments.of("", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("   ", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("{", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("{\"model\":\"demo\",", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("{\"model\":\"demo\"," + MSG, Endpoint.CHAT, "invalid_json", null),
        Arguments.of("{\"model\":\"demo\"," + "\"messages\":[{\"role\":\"user\"", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("{model:\"demo\"}", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("{'model':'demo'}", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("{\"model\":\"demo\",}", Endpoint.CHAT, "invalid_json", null),
        Arguments.of(OK_CHAT + ",\"x\":01}", Endpoint.CHAT, "invalid_json", null),
        Arguments.of(OK_CHAT + ",\"x\":NaN}", Endpoint.CHAT, "invalid_json", null),
        Arguments.of(OK_CHAT + ",\"x\":\"line\nbreak\"}", Endpoint.CHAT, "invalid_json", null),
        Arguments.of(OK_CHAT + " /* comment */ }", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("[" + OK_CHAT + "}]", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("[]", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("42", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("\"demo\"", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("null", Endpoint.CHAT, "invalid_json", null),
        Arguments.of("true", Endpoint.CHAT, "invalid_json", null),
        Arguments.of(OK_CHAT + "} x", Endpoint.CHAT, "invalid_json", null),
        Arguments.of(OK_CHAT + "}{}", Endpoint.CHAT, "invalid_json", null),
        Arguments.of(OK_CHAT + "}}", Endpoint.CHAT, "invalid_json", null),
        Arguments.of(OK_CHAT + "}]", Endpoint.CHAT, "invalid_json", null),
        Arguments.of(OK_CHAT + "} 1", Endpoint.CHAT, "invalid_json", null),
        Arguments.of(OK_CHAT + ",\"x\":" + "[".repeat(200) + "]".repeat(200) + "}", Endpoint.CHAT, "invalid_json", null),
        // model
        Arguments.of("{" + MSG + "}", Endpoint.CHAT, "missing_required_parameter", "model"),
        Arguments.of("{\"model\":42," + MSG + "}", Endpoint.CHAT, "invalid_type", "model"),
        Arguments.of("{\"model\":null," + MSG + "}", Endpoint.CHAT, "invalid_type", "model"),
        Arguments.of("{\"model\":[\"demo\"]," + MSG + "}", Endpoint.CHAT, "invalid_type", "model"),
        Arguments.of("{\"model\":{\"name\":\"demo\"}," + MSG + "}", Endpoint.CHAT, "invalid_type", "model"),
        Arguments.of("{\"model\":\"\"," + MSG + "}", Endpoint.CHAT, "invalid_value", "model"),
        Arguments.of("{\"model\":\"  \"," + MSG + "}", Endpoint.CHAT, "invalid_value", "model"),
        // stream
        Arguments.of(OK_CHAT + ",\"stream\":\"yes\"}", Endpoint.CHAT, "invalid_type", "stream"),
        Arguments.of(OK_CHAT + ",\"stream\":1}", Endpoint.CHAT, "invalid_type", "stream"),
        Arguments.of(OK_CHAT + ",\"stream\":\"true\"}", Endpoint.CHAT, "invalid_type", "stream"),
        Arguments.of("{\"model\":\"e\",\"input\":\"x\",\"stream\":true}", Endpoint.EMBEDDINGS, "invalid_value", "stream"),
        Arguments.of(OK_CHAT + ",\"stream_options\":\"x\"}", Endpoint.CHAT, "invalid_type", "stream_options"),
        Arguments.of(OK_CHAT + ",\"stream_options\":{\"include_usage\":\"yes\"}}", Endpoint.CHAT, "invalid_type",
            "stream_options.include_usage"),
        // max_tokens
        Arguments.of(OK_CHAT + ",\"max_tokens\":\"10\"}", Endpoint.CHAT, "invalid_type", "max_tokens"),
        Arguments.of(OK_CHAT + ",\"max_tokens\":1.5}", Endpoint.CHAT, "invalid_type", "max_tokens"),
        Arguments.of(OK_CHAT + ",\"max_tokens\":true}", Endpoint.CHAT, "invalid_type", "max_tokens"),
        Arguments.of(OK_CHAT + ",\"max_tokens\":0}", Endpoint.CHAT, "invalid_value", "max_tokens"),
        Arguments.of(OK_CHAT + ",\"max_tokens\":-5}", Endpoint.CHAT, "invalid_value", "max_tokens"),
        Arguments.of(OK_CHAT + ",\"max_tokens\":3000000000}", Endpoint.CHAT, "invalid_value", "max_tokens"),
        Arguments.of(OK_CHAT + ",\"max_tokens\":99999999999999999999}", Endpoint.CHAT, "invalid_value", "max_tokens"),
        Arguments.of(OK_CHAT + ",\"max_tokens\":-99999999999999999999}", Endpoint.CHAT, "invalid_value", "max_tokens"),
        Arguments.of(OK_CHAT + ",\"max_completion_tokens\":0}", Endpoint.CHAT, "invalid_value", "max_completion_tokens"),
        Arguments.of(OK_CHAT + ",\"max_completion_tokens\":\"5\"}", Endpoint.CHAT, "invalid_type",
            "max_completion_tokens"),
        // sampling parameters
        Arguments.of(OK_CHAT + ",\"temperature\":\"hot\"}", Endpoint.CHAT, "invalid_type", "temperature"),
        Arguments.of(OK_CHAT + ",\"top_p\":true}", Endpoint.CHAT, "invalid_type", "top_p"),
        Arguments.of(OK_CHAT + ",\"presence_penalty\":[0]}", Endpoint.CHAT, "invalid_type", "presence_penalty"),
        Arguments.of(OK_CHAT + ",\"frequency_penalty\":{}}", Endpoint.CHAT, "invalid_type", "frequency_penalty"),
        Arguments.of(OK_CHAT + ",\"n\":\"2\"}", Endpoint.CHAT, "invalid_type", "n"),
        Arguments.of(OK_CHAT + ",\"n\":1.5}", Endpoint.CHAT, "invalid_type", "n"),
        Arguments.of(OK_CHAT + ",\"n\":0}", Endpoint.CHAT, "invalid_value", "n"),
        Arguments.of(OK_CHAT + ",\"n\":129}", Endpoint.CHAT, "invalid_value", "n"),
        Arguments.of(OK_CHAT + ",\"n\":99999999999999999999}", Endpoint.CHAT, "invalid_value", "n"),
        // model names travel into headers, metrics and logs
        Arguments.of("{\"model\":\"" + "m".repeat(257) + "\"," + MSG + "}", Endpoint.CHAT, "invalid_value", "model"),
        Arguments.of("{\"model\":\"demo\\r\\nX-Evil: 1\"," + MSG + "}", Endpoint.CHAT, "invalid_value", "model"),
        // timeout
        Arguments.of(OK_CHAT + ",\"timeout\":-1}", Endpoint.CHAT, "invalid_value", "timeout"),
        Arguments.of(OK_CHAT + ",\"timeout\":-0.5}", Endpoint.CHAT, "invalid_value", "timeout"),
        Arguments.of(OK_CHAT + ",\"timeout\":0}", Endpoint.CHAT, "invalid_value", "timeout"),
        Arguments.of(OK_CHAT + ",\"timeout\":86401}", Endpoint.CHAT, "invalid_value", "timeout"),
        Arguments.of(OK_CHAT + ",\"timeout\":1e400}", Endpoint.CHAT, "invalid_value", "timeout"),
        Arguments.of(OK_CHAT + ",\"timeout\":\"10\"}", Endpoint.CHAT, "invalid_type", "timeout"),
        Arguments.of(OK_CHAT + ",\"timeout\":\"10s\"}", Endpoint.CHAT, "invalid_type", "timeout"),
        Arguments.of(OK_CHAT + ",\"timeout\":true}", Endpoint.CHAT, "invalid_type", "timeout"),
        Arguments.of(OK_CHAT + ",\"timeout\":{}}", Endpoint.CHAT, "invalid_type", "timeout"),
        // messages
        Arguments.of("{\"model\":\"demo\"}", Endpoint.CHAT, "missing_required_parameter", "messages"),
        Arguments.of("{\"model\":\"demo\",\"messages\":null}", Endpoint.CHAT, "invalid_type", "messages"),
        Arguments.of("{\"model\":\"demo\",\"messages\":\"hi\"}", Endpoint.CHAT, "invalid_type", "messages"),
        Arguments.of("{\"model\":\"demo\",\"messages\":{\"role\":\"user\"}}", Endpoint.CHAT, "invalid_type", "messages"),
        Arguments.of("{\"model\":\"demo\",\"messages\":[]}", Endpoint.CHAT, "invalid_value", "messages"),
        Arguments.of("{\"model\":\"demo\",\"messages\":[\"hi\"]}", Endpoint.CHAT, "invalid_type", "messages[0]"),
        Arguments.of("{\"model\":\"demo\",\"messages\":[null]}", Endpoint.CHAT, "invalid_type", "messages[0]"),
        Arguments.of("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\"},[]]}", Endpoint.CHAT, "invalid_type",
            "messages[1]"),
        Arguments.of("{\"model\":\"demo\",\"messages\":[{\"content\":\"hi\"}]}", Endpoint.CHAT,
            "missing_required_parameter", "messages[0].role"),
        Arguments.of("{\"model\":\"demo\",\"messages\":[{\"role\":null}]}", Endpoint.CHAT,
            "invalid_type", "messages[0].role"),
        Arguments.of("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\"},{\"content\":\"x\"}]}", Endpoint.CHAT,
            "missing_required_parameter", "messages[1].role"),
        Arguments.of("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\"},{\"role\":7}]}", Endpoint.CHAT,
            "invalid_type", "messages[1].role"),
        Arguments.of("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\"},{}]}", Endpoint.CHAT,
            "missing_required_parameter", "messages[1].role"),
        Arguments.of("{\"model\":\"demo\",\"messages\":" + messages(MAX_MESSAGES + 1) + "}", Endpoint.CHAT,
            "too_many_messages", "messages"),
        // fields the gateway acts on, written twice
        Arguments.of("{\"model\":\"demo\"," + MSG + ",\"model\":\"other\"}", Endpoint.CHAT, "duplicate_parameter",
            "model"),
        Arguments.of(OK_CHAT + ",\"timeout\":5,\"timeout\":10}", Endpoint.CHAT, "duplicate_parameter", "timeout"),
        Arguments.of(OK_CHAT + ",\"stream\":false,\"stream\":true}", Endpoint.CHAT, "duplicate_parameter", "stream"),
        Arguments.of(OK_CHAT + ",\"max_tokens\":5,\"max_tokens\":5}", Endpoint.CHAT, "duplicate_parameter",
            "max_tokens"),
        // completions
        Arguments.of("{\"model\":\"demo\"}", Endpoint.COMPLETIONS, "missing_required_parameter", "prompt"),
        Arguments.of("{\"model\":\"demo\"," + MSG + "}", Endpoint.COMPLETIONS, "missing_required_parameter", "prompt"),
        Arguments.of("{\"model\":\"demo\",\"prompt\":42}", Endpoint.COMPLETIONS, "invalid_type", "prompt"),
        Arguments.of("{\"model\":\"demo\",\"prompt\":{}}", Endpoint.COMPLETIONS, "invalid_type", "prompt"),
        Arguments.of("{\"model\":\"demo\",\"prompt\":null}", Endpoint.COMPLETIONS, "invalid_type", "prompt"),
        // embeddings
        Arguments.of("{\"model\":\"e\"}", Endpoint.EMBEDDINGS, "missing_required_parameter", "input"),
        Arguments.of("{\"model\":\"e\",\"input\":[]}", Endpoint.EMBEDDINGS, "missing_required_parameter", "input"),
        Arguments.of("{\"model\":\"e\",\"input\":\"\"}", Endpoint.EMBEDDINGS, "missing_required_parameter", "input"),
        Arguments.of("{\"model\":\"e\",\"input\":42}", Endpoint.EMBEDDINGS, "invalid_type", "input"),
        Arguments.of("{\"model\":\"e\",\"input\":null}", Endpoint.EMBEDDINGS, "invalid_type", "input"),
        Arguments.of("{\"model\":\"e\",\"input\":{\"text\":\"x\"}}", Endpoint.EMBEDDINGS, "invalid_type", "input"),
        Arguments.of("{\"model\":\"e\",\"input\":[\"a\",}", Endpoint.EMBEDDINGS, "invalid_json", null));
  }

  static String messages(int n) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "" : ",").append("{\"role\":\"user\",\"content\":\"m").append(i).append("\"}");
    }
    return sb.append(']').toString();
  }

  @ParameterizedTest(name = "[{index}] {1} {0} -> {2} {3}")
  @MethodSource("rejections")
  void rejects(String json, Endpoint endpoint, String code, String param) {
    ApiError e = rejection(() -> read(json, endpoint));
    assertThat(e.status()).isEqualTo(400);
    assertThat(e.type()).isEqualTo(ApiError.INVALID_REQUEST);
    assertThat(e.code()).isEqualTo(code);
    assertThat(e.param()).isEqualTo(param);
    assertThat(e.message()).isNotBlank();
  }

  @Test
  void exactlyTheMaximumNumberOfMessagesIsAccepted() {
    assertThat(chat("{\"model\":\"demo\",\"messages\":" + messages(MAX_MESSAGES) + "}").messageCount())
        .isEqualTo(MAX_MESSAGES);
  }

  @Test
  void wrongTypeMessagesSayWhatWasFound() {
    ApiError e = rejection(() -> chat(OK_CHAT + ",\"stream\":\"yes\"}"));
    assertThat(e.message()).contains("'stream'").contains("boolean").contains("a string");
    ApiError m = rejection(() -> chat("{\"model\":42," + MSG + "}"));
    assertThat(m.message()).contains("'model'").contains("an integer");
  }

  @Test
  void syntaxErrorsDoNotLeakParserInternals() {
    ApiError e = rejection(() -> chat("{\"model\":\"demo\",}"));
    assertThat(e.message()).startsWith("request body is not valid JSON").doesNotContain("\n")
        .doesNotContain("com.fasterxml").doesNotContain("Source:");
  }

  // ---- invalid UTF-8 -------------------------------------------------------------------------

  static Stream<Arguments> invalidUtf8() {
    byte[] bad1 = {(byte) 0xC3, (byte) 0x28};   // a two-byte lead followed by a non-continuation byte
    byte[] bad2 = {(byte) 0xFF};                // never valid in UTF-8
    byte[] bad3 = {(byte) 0xE2, (byte) 0x82};   // truncated three-byte sequence
    byte[] bad4 = {(byte) 0xC0, (byte) 0xAF};   // overlong encoding of '/'
    byte[] bad5 = {(byte) 0xED, (byte) 0xA0, (byte) 0x80}; // an encoded UTF-16 surrogate
    byte[] bad6 = {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}; // beyond U+10FFFF
    byte[] bad7 = {(byte) 0x80};                // a lone continuation byte
    return Stream.of(bad1, bad2, bad3, bad4, bad5, bad6, bad7).flatMap(bad -> Stream.of(
        Arguments.of("model value", json("{\"model\":\"de", bad, "mo\"," + MSG + "}")),
        Arguments.of("message content", json("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x",
            bad, "\"}]}")),
        Arguments.of("message role", json("{\"model\":\"demo\",\"messages\":[{\"role\":\"us", bad, "er\"}]}")),
        Arguments.of("top-level key", json("{\"", bad, "\":1,\"model\":\"demo\"," + MSG + "}")),
        Arguments.of("key in a message", json("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"n", bad,
            "\":\"x\"}]}")),
        Arguments.of("unknown field value", json("{\"model\":\"demo\"," + MSG + ",\"user\":\"", bad, "\"}")),
        Arguments.of("nested unknown value", json("{\"model\":\"demo\"," + MSG + ",\"metadata\":{\"a\":[\"", bad,
            "\"]}}")),
        Arguments.of("nested unknown key", json("{\"model\":\"demo\"," + MSG + ",\"metadata\":{\"", bad,
            "\":1}}"))));
  }

  private static byte[] json(String before, byte[] bad, String after) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(before.getBytes(StandardCharsets.UTF_8));
    out.writeBytes(bad);
    out.writeBytes(after.getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  @ParameterizedTest(name = "[{index}] in {0}")
  @MethodSource("invalidUtf8")
  void rejectsInvalidUtf8(String where, byte[] body) {
    ApiError e = rejection(() -> reader.read(body, body.length, Endpoint.CHAT));
    assertThat(e.status()).isEqualTo(400);
    assertThat(e.code()).isEqualTo("invalid_encoding");
    assertThat(e.param()).isNull();
  }

  @Test
  void rejectsInvalidUtf8InEmbeddingsAndCompletionsInput() {
    byte[] emb = json("{\"model\":\"e\",\"input\":[\"ok\",\"", new byte[] {(byte) 0xFF}, "\"]}");
    assertThat(rejection(() -> reader.read(emb, emb.length, Endpoint.EMBEDDINGS)).code()).isEqualTo("invalid_encoding");
    byte[] emb0 = json("{\"model\":\"e\",\"input\":[\"", new byte[] {(byte) 0xC3, 0x28}, "\"]}");
    assertThat(rejection(() -> reader.read(emb0, emb0.length, Endpoint.EMBEDDINGS)).code())
        .isEqualTo("invalid_encoding");
    byte[] cmp = json("{\"model\":\"c\",\"prompt\":\"", new byte[] {(byte) 0xC3, 0x28}, "\"}");
    assertThat(rejection(() -> reader.read(cmp, cmp.length, Endpoint.COMPLETIONS)).code()).isEqualTo("invalid_encoding");
  }

  @Test
  void validMultiByteTextIsNotMistakenForInvalidUtf8() {
    Envelope e = chat("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Grüße, 你好, \uD83D\uDE80\"}]}");
    assertThat(e.messageCount()).isEqualTo(1);
  }

  private static ApiError rejection(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
    ApiError.Rejection r = catchThrowableOfType(ApiError.Rejection.class, call);
    assertThat(r).as("expected a rejection").isNotNull();
    return r.error();
  }

  @Test
  void rejectionHelperFailsWhenNothingIsThrown() {
    assertThatThrownBy(() -> rejection(() -> chat(OK_CHAT + "}"))).isInstanceOf(AssertionError.class);
  }
}
