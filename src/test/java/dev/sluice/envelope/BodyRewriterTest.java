package dev.sluice.envelope;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class BodyRewriterTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final EnvelopeReader reader = new EnvelopeReader(1 << 20, 100);

  private static final String MSG = "\"messages\":[{\"role\":\"user\",\"content\":\"a, \\\"timeout\\\": 1, b\"}]";

  /** What the rewriter produced, parsed, after checking the envelope and body agree. */
  private record Rewritten(Buffer original, Buffer out, JsonNode before, JsonNode after) {}

  private Rewritten rewrite(String json, Endpoint endpoint, String upstreamModel) {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    Buffer original = Buffer.buffer(bytes);
    Envelope env = reader.read(bytes, bytes.length, endpoint);
    Buffer out = BodyRewriter.forUpstream(original, bytes, env, upstreamModel);
    return new Rewritten(original, out, parse(bytes), parse(out.getBytes()));
  }

  private static JsonNode parse(byte[] b) {
    try {
      // strict: the output must be exactly one JSON object, nothing after it
      return JSON.readerFor(JsonNode.class)
          .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
          .readValue(b);
    } catch (IOException e) {
      throw new UncheckedIOException("not valid JSON: " + new String(b, StandardCharsets.UTF_8), e);
    }
  }

  private static ObjectNode expected(JsonNode before, String model, boolean dropTimeout) {
    ObjectNode e = before.deepCopy();
    if (model != null) {
      e.set("model", TextNode.valueOf(model));
    }
    if (dropTimeout) {
      e.remove("timeout");
    }
    return e;
  }

  // ---- untouched -----------------------------------------------------------------------------

  @Test
  void anUntouchedBodyIsTheSameBufferInstance() {
    Rewritten r = rewrite("{\"model\":\"demo\"," + MSG + ",\"stream\":true}", Endpoint.CHAT, "demo");
    assertThat(r.out()).isSameAs(r.original());
  }

  @Test
  void anUntouchedEmbeddingsBodyIsTheSameBufferInstance() {
    Rewritten r = rewrite("{\"model\":\"e\",\"input\":[\"x\"]}", Endpoint.EMBEDDINGS, "e");
    assertThat(r.out()).isSameAs(r.original());
  }

  // ---- model renamed -------------------------------------------------------------------------

  static Stream<Arguments> modelPlacements() {
    return Stream.of(
        Arguments.of("{\"model\":\"demo\"," + MSG + "}"),
        Arguments.of("{" + MSG + ",\"model\":\"demo\"}"),
        Arguments.of("{\"stream\":false,\"model\":\"demo\"," + MSG + ",\"max_tokens\":5}"),
        Arguments.of("{\n  \"model\" :\t\"demo\" ,\n  " + MSG + "\n}\n"),
        Arguments.of("{" + MSG + ",\"model\"  :  \"demo\"   }"),
        Arguments.of("{\"model\":\"d\\u0065mo\"," + MSG + "}"));
  }

  @ParameterizedTest
  @MethodSource("modelPlacements")
  void renamingTheModelKeepsValidJsonAndChangesNothingElse(String json) {
    for (String upstream : List.of("sim-fast", "x", "a-much-longer-upstream-model-name-than-the-alias",
        "org/model:tag@v1")) {
      Rewritten r = rewrite(json, Endpoint.CHAT, upstream);
      assertThat(r.out()).isNotSameAs(r.original());
      assertThat(r.after()).as("%s -> %s", json, upstream).isEqualTo(expected(r.before(), upstream, false));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"quote\"inside", "back\\slash", "new\nline", "tab\tand\u0001control", "模型-ü-\uD83D\uDE00",
      "</script>", "trailing\\"})
  void upstreamNamesThatNeedEscapingAreQuotedCorrectly(String upstream) {
    Rewritten r = rewrite("{\"model\":\"demo\"," + MSG + "}", Endpoint.CHAT, upstream);
    assertThat(r.after().get("model").asText()).isEqualTo(upstream);
    assertThat(r.after()).isEqualTo(expected(r.before(), upstream, false));
  }

  @Test
  void aClientModelWithEscapesIsReplacedWhole() {
    Rewritten r = rewrite("{\"model\":\"a\\\"b\\\\\"," + MSG + "}", Endpoint.CHAT, "plain");
    assertThat(r.after()).isEqualTo(expected(r.before(), "plain", false));
  }

  @Test
  void aRenameAfterMultiByteTextLandsOnTheRightBytes() {
    Rewritten r = rewrite("{\"messages\":[{\"role\":\"user\",\"content\":\"日本語 \uD83D\uDE00\"}],\"model\":\"模型\"}",
        Endpoint.CHAT, "upstream");
    assertThat(r.after()).isEqualTo(expected(r.before(), "upstream", false));
  }

  @Test
  void renamesInCompletionsAndEmbeddings() {
    Rewritten c = rewrite("{\"prompt\":\"hi\",\"model\":\"demo\"}", Endpoint.COMPLETIONS, "up");
    assertThat(c.after()).isEqualTo(expected(c.before(), "up", false));
    Rewritten e = rewrite("{\"model\":\"demo\",\"input\":\"hi\"}", Endpoint.EMBEDDINGS, "up");
    assertThat(e.after()).isEqualTo(expected(e.before(), "up", false));
  }

  // ---- timeout removed -----------------------------------------------------------------------

  static Stream<Arguments> timeoutPlacements() {
    String[] timeouts = {"\"timeout\":5", "\"timeout\" : 2.5", "\"timeout\":null", "\"timeout\":1E+1",
        "\"time\\u006fut\":3"};
    String[] layouts = {
        // first
        "{%s,\"model\":\"demo\"," + MSG + "}",
        "{ %s , \"model\":\"demo\"," + MSG + "}",
        "{\n  %s,\n  \"model\": \"demo\",\n  " + MSG + "\n}",
        // middle
        "{\"model\":\"demo\",%s," + MSG + "}",
        "{\"model\":\"demo\" ,\t%s\t, " + MSG + "}",
        "{\"model\":\"demo\",\r\n%s\r\n," + MSG + "}",
        // last
        "{\"model\":\"demo\"," + MSG + ",%s}",
        "{\"model\":\"demo\"," + MSG + " , %s }",
        "{\"model\":\"demo\"," + MSG + ",\n  %s\n}\n",
        // right after the model, and right before it
        "{" + MSG + ",\"model\":\"demo\",%s}",
        "{" + MSG + ",%s,\"model\":\"demo\"}",
    };
    return Stream.of(layouts).flatMap(l -> Stream.of(timeouts).map(t -> Arguments.of(String.format(l, t))));
  }

  @ParameterizedTest
  @MethodSource("timeoutPlacements")
  void timeoutIsRemovedWhereverItIs(String json) {
    Rewritten r = rewrite(json, Endpoint.CHAT, "demo");
    assertThat(r.before().has("timeout")).isTrue();
    assertThat(r.after()).as(json).isEqualTo(expected(r.before(), null, true));
    assertThat(r.out().toString(StandardCharsets.UTF_8)).doesNotContainPattern("\"timeout\"\\s*:\\s*[0-9n]")
        .contains("\\\"timeout\\\": 1"); // the lookalike inside the message content is untouched
  }

  @ParameterizedTest
  @MethodSource("timeoutPlacements")
  void timeoutIsRemovedAndModelRenamedTogether(String json) {
    for (String upstream : List.of("u", "a-much-longer-upstream-model-name")) {
      Rewritten r = rewrite(json, Endpoint.CHAT, upstream);
      assertThat(r.after()).as("%s -> %s", json, upstream).isEqualTo(expected(r.before(), upstream, true));
    }
  }

  @Test
  void aTimeoutInsideAMessageIsNotTheGatewaysAndStays() {
    Rewritten r = rewrite("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"timeout\":3}],"
        + "\"timeout\":2}", Endpoint.CHAT, "demo");
    assertThat(r.after().has("timeout")).isFalse();
    assertThat(r.after().get("messages").get(0).get("timeout").asInt()).isEqualTo(3);
  }

  @Test
  void timeoutIsRemovedFromEmbeddingsAndCompletions() {
    Rewritten e = rewrite("{\"model\":\"e\",\"timeout\":4,\"input\":\"x\"}", Endpoint.EMBEDDINGS, "e");
    assertThat(e.after()).isEqualTo(expected(e.before(), null, true));
    Rewritten c = rewrite("{\"model\":\"c\",\"prompt\":\"x\",\"timeout\":4}", Endpoint.COMPLETIONS, "c2");
    assertThat(c.after()).isEqualTo(expected(c.before(), "c2", true));
  }

  // ---- widenForComma -------------------------------------------------------------------------

  @Test
  void widenTakesTheFollowingCommaFirstThenThePrecedingOne() {
    byte[] first = "{\"t\":1 , \"a\":2}".getBytes(StandardCharsets.UTF_8);
    assertThat(BodyRewriter.widenForComma(first, 1, 6, first.length)).containsExactly(1, 8);
    byte[] last = "{\"a\":2 ,  \"t\":1}".getBytes(StandardCharsets.UTF_8);
    assertThat(BodyRewriter.widenForComma(last, 10, 15, last.length)).containsExactly(7, 15);
    byte[] only = "{ \"t\":1 }".getBytes(StandardCharsets.UTF_8);
    assertThat(BodyRewriter.widenForComma(only, 2, 7, only.length)).containsExactly(2, 7);
  }

  // ---- a token ceiling added -----------------------------------------------------------------

  private Rewritten withCeiling(String json, String upstreamModel, int ceiling) {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    Buffer original = Buffer.buffer(bytes);
    Envelope env = reader.read(bytes, bytes.length, Endpoint.CHAT);
    Buffer out = BodyRewriter.forUpstream(original, bytes, env, upstreamModel, "max_completion_tokens", ceiling);
    return new Rewritten(original, out, parse(bytes), parse(out.getBytes()));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"model\":\"demo\"," + MSG + "}",
      "  \n{ \"model\" : \"demo\" ," + MSG + "}",
      "\uFEFF{\"model\":\"demo\"," + MSG + "}",
      "{" + MSG + ",\"timeout\":5,\"model\":\"demo\"}",
      "{\"timeout\":5,\"model\":\"demo\"," + MSG + "}",
      "{" + MSG + ",\"model\":\"demo\",\"timeout\":5}"})
  void aCeilingIsAddedWhenTheRequestSetsNoLimitAlongsideTheOtherEdits(String json) {
    for (String upstream : new String[] {"demo", "up-model-\u00e9"}) {
      Rewritten r = withCeiling(json, upstream, 64);
      ObjectNode e = expected(r.before(), upstream, true);
      e.put("max_completion_tokens", 64);
      assertThat(r.after()).as(json + " for " + upstream).isEqualTo(e);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"max_tokens", "max_completion_tokens"})
  void aRequestWithItsOwnLimitKeepsIt(String field) {
    Rewritten r = withCeiling("{\"model\":\"demo\",\"" + field + "\":10," + MSG + "}", "demo", 64);
    assertThat(r.out()).as("nothing to change: the same buffer").isSameAs(r.original());
    Rewritten renamed = withCeiling("{\"model\":\"demo\",\"" + field + "\":10," + MSG + "}", "up", 64);
    assertThat(renamed.after()).isEqualTo(expected(renamed.before(), "up", false));
  }

  @ParameterizedTest
  @ValueSource(strings = {"max_tokens", "max_completion_tokens"})
  void aLimitSentAsNullTakesTheCeilingInItsPlace(String field) {
    for (String upstream : new String[] {"demo", "up"}) {
      Rewritten r = withCeiling("{\"timeout\":3,\"model\":\"demo\",\"" + field + "\" : null ," + MSG + "}", upstream, 64);
      ObjectNode e = expected(r.before(), upstream, true);
      e.put(field, 64);
      assertThat(r.after()).as("one member, the ceiling in it; for " + upstream).isEqualTo(e);
    }
  }

  @Test
  void noCeilingLeavesTheBodyAlone() {
    Rewritten r = withCeiling("{\"model\":\"demo\"," + MSG + "}", "demo", -1);
    assertThat(r.out()).isSameAs(r.original());
  }
}
