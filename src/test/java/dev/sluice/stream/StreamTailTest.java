package dev.sluice.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StreamTailTest {
  static final String TOKEN = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
      + "\"delta\":{\"content\":\" word\"},\"finish_reason\":null}]}\n\n";
  static final String STOP = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
      + "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
  static final String DONE = "data: [DONE]\n\n";
  static final String ERROR = "data: {\"error\":{\"message\":\"the model is overloaded\",\"type\":\"server_error\","
      + "\"param\":null,\"code\":null}}\n\n";

  static StreamTail tailOf(String... chunks) {
    StreamTail t = new StreamTail();
    for (String c : chunks) {
      t.update(Buffer.buffer(c.getBytes(StandardCharsets.UTF_8)));
    }
    return t;
  }

  @Test
  void aStreamEndingWithDoneIsComplete() {
    StreamTail t = tailOf(TOKEN, TOKEN, STOP, DONE);
    assertThat(t.complete()).isTrue();
    assertThat(t.endedWithError()).isFalse();
  }

  @Test
  void aStreamWithoutDoneIsNotComplete() {
    assertThat(tailOf(TOKEN, TOKEN, STOP).complete()).isFalse();
    assertThat(tailOf(TOKEN).complete()).isFalse();
    assertThat(tailOf().complete()).isFalse();
    assertThat(tailOf(TOKEN, "data: [DO").complete()).as("[DONE] cut in the middle").isFalse();
    assertThat(tailOf(TOKEN, "data: [DONE").complete()).isFalse();
  }

  @Test
  void doneSplitAcrossChunksAtEveryByte() {
    String all = TOKEN + STOP + DONE;
    for (int cut = 1; cut < all.length(); cut++) {
      assertThat(tailOf(all.substring(0, cut), all.substring(cut)).complete()).as("cut at %d", cut).isTrue();
    }
  }

  @Test
  void doneSentByteByByte() {
    StreamTail t = tailOf(TOKEN);
    for (char c : DONE.toCharArray()) {
      t.update(Buffer.buffer(String.valueOf(c)));
    }
    assertThat(t.complete()).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"data: [DONE]\r\n\r\n", "data:[DONE]\n\n", "data: [DONE]\n", "data: [DONE]"})
  void doneInItsVariants(String done) {
    assertThat(tailOf(TOKEN, done).complete()).isTrue();
  }

  @Test
  void aChunkLongerThanTheTailIsHandled() {
    String big = TOKEN.repeat(50);
    assertThat(big.length()).isGreaterThan(512);
    assertThat(tailOf(big + DONE).complete()).isTrue();
    assertThat(tailOf(big).complete()).isFalse();
    assertThat(tailOf(DONE, big).complete()).isFalse();
  }

  @Test
  void aProviderErrorAsTheLastEventIsRecognised() {
    StreamTail t = tailOf(TOKEN, TOKEN, ERROR);
    assertThat(t.endedWithError()).isTrue();
    assertThat(t.complete()).isFalse();
  }

  @Test
  void aProviderErrorSplitAcrossChunks() {
    String all = TOKEN + ERROR;
    for (int cut = 1; cut < all.length(); cut++) {
      assertThat(tailOf(all.substring(0, cut), all.substring(cut)).endedWithError()).as("cut at %d", cut).isTrue();
    }
  }

  @Test
  void aProviderErrorWithCrlfAndSpaces() {
    assertThat(tailOf(TOKEN, "data: { \"error\" : {\"message\":\"x\"}}\r\n\r\n").endedWithError()).isTrue();
  }

  @Test
  void anErrorEarlierInTheStreamIsNotTheLastEvent() {
    assertThat(tailOf(ERROR, TOKEN).endedWithError()).isFalse();
    assertThat(tailOf(TOKEN, "data: {\"choices\":[{\"delta\":{\"content\":\"error\"}}]}\n\n").endedWithError()).isFalse();
  }

  @Test
  void anErrorEventWhoseMessageMentionsDataIsStillTheProvidersError() {
    String error = "data: {\"error\":{\"message\":\"invalid data: the prompt is too long\",\"type\":\"invalid_request_error\"}}\n\n";
    assertThat(tailOf(TOKEN, error).endedWithError()).isTrue();
  }

  @Test
  void aLongProviderErrorIsStillRecognised() {
    String error = "data: {\"error\":{\"message\":\"" + "overloaded ".repeat(80) + "\",\"type\":\"server_error\"}}\n\n";
    assertThat(error.length()).isGreaterThan(512);
    assertThat(tailOf(TOKEN, error).endedWithError()).isTrue();
    assertThat(tailOf(TOKEN, error).complete()).isFalse();
  }

  @Test
  void aContentTokenMentioningDoneIsNotTheEnd() {
    assertThat(tailOf(TOKEN, "data: {\"choices\":[{\"delta\":{\"content\":\"data: [DONE]\"}}]}\n\n").complete())
        .isFalse();
  }

  @Test
  void keepAlivesAfterDoneDoNotHideIt() {
    assertThat(tailOf(TOKEN, DONE, ": keep-alive\n\n").complete()).isTrue();
    assertThat(tailOf(TOKEN, ERROR, ": keep-alive\n\n").endedWithError()).isTrue();
  }

  @Test
  void anEventLongerThanTheWindowIsNeitherDoneNorAnError() {
    String huge = "data: {\"choices\":[{\"delta\":{\"content\":\"" + "x".repeat(10_000) + "\"}}]}\n\n";
    StreamTail t = tailOf(TOKEN, huge);
    assertThat(t.complete()).isFalse();
    assertThat(t.endedWithError()).isFalse();
    assertThat(tailOf(huge, DONE).complete()).isTrue();
  }

  @Test
  void aLongStreamIsJudgedByItsEnd() {
    StreamTail t = new StreamTail();
    for (int i = 0; i < 1000; i++) {
      t.update(Buffer.buffer(TOKEN));
    }
    assertThat(t.complete()).isFalse();
    t.update(Buffer.buffer(STOP + DONE));
    assertThat(t.complete()).isTrue();
  }

  @Test
  void aSecondDataLineOfAnEventIsNotAnEventOfItsOwn() {
    // one event with two data lines, the first longer than any window: its second line is no event of its own
    StreamTail t = tailOf(TOKEN, "data: {\"content\":\"" + "x".repeat(10_000) + "\ndata: [DONE]");
    assertThat(t.complete()).isFalse();
    assertThat(tailOf(TOKEN, "data: {\"content\":\"x\ndata: [DONE]\n\n").complete()).isFalse();
  }

  /** complete() recognises the usual end from the bytes; it must agree with the events parsed. */
  @ParameterizedTest(name = "{index}")
  @ValueSource(strings = {
      "data: [DONE]\n\n",
      "data: x\n\ndata: [DONE]\n\n",
      "data: x\r\n\ndata: [DONE]\n\n",
      "data: x\ndata: [DONE]\n\n",
      ": keep-alive\n\ndata: [DONE]\n\n",
      "data: [DONE]\n\n: keep-alive\n\n",
      "data: [DONE]\n\ndata: [DONE]\n\n",
      "ata: [DONE]\n\n",
      "\n\ndata: [DONE]\n\n",
      "data: x\n\ndata: [DONE] \n\n",
      "data: x\n\ndata: [DONE]\n\n\n",
  })
  void theQuickEndCheckAgreesWithTheParsedEvents(String end) {
    for (String before : new String[] {"", TOKEN, TOKEN.repeat(60)}) {
      StreamTail t = tailOf(before, end);
      assertThat(t.complete()).as("after %d bytes", before.length()).isEqualTo(t.lastEventData().equals("[DONE]"));
    }
  }

  /** endedWithError() tells the usual end from a few bytes; it must agree with the events parsed. */
  @ParameterizedTest(name = "{index}")
  @ValueSource(strings = {
      "data: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n",
      "data:{\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n",
      "data:  {  \"error\" : 1}\n\ndata: [DONE]\n\n",
      "data: {\"errors\":1}\n\ndata: [DONE]\n\n",
      "data: {\"id\":\"x\",\"error\":1}\n\ndata: [DONE]\n\n",
      "data: {\"id\":\"x\",\"error\":null}\n\ndata: [DONE]\n\n",
      "data: {\"choices\":[{\"delta\":{\"content\":\"say \\\"error\\\"\"}}]}\n\ndata: [DONE]\n\n",
      "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n",
      "data: {\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\ndata: [DONE]\n\n",
      "event: error\ndata: {\"error\":1}\n\ndata: [DONE]\n\n",
      ": ping\n\ndata: [DONE]\n\n",
      "data: {\"error\":1}\n\n: ping\n\ndata: [DONE]\n\n",
      "data: {\n\"error\":1}\n\ndata: [DONE]\n\n",
      "data: {\"error\":1}\r\n\r\ndata: [DONE]\r\n\r\n",
      "data: [DONE]\n\n",
      "data: x\n\ndata: [DONE]\n\n",
      "data: {\"error\":{\"message\":\"boom\"}}\n\n",
      "data: {\"id\":1}\r\n\r\ndata: {\"error\":1}\r\n\ndata: [DONE]\n\n",
      "data: {\"error\":1}\r\n\r\ndata: {\"id\":1}\r\n\ndata: [DONE]\n\n",
  })
  void theQuickErrorCheckAgreesWithTheParsedEvents(String end) {
    for (String before : new String[] {"", TOKEN, TOKEN.repeat(60)}) {
      StreamTail t = tailOf(before, end);
      assertThat(t.endedWithError()).as("after %d bytes", before.length()).isEqualTo(t.endedWithErrorParsed());
    }
    assertThat(tailOf(TOKEN, "data: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n").endedWithError()).isTrue();
    assertThat(tailOf(TOKEN, STOP, DONE).endedWithError()).isFalse();
  }

  /** The event before [DONE] longer than the window: neither side can see its start. */
  @Test
  void anEventBeforeDoneLongerThanTheWindowIsNotAnError() {
    String huge = "data: {\"error\":\"" + "x".repeat(StreamTail.KEEP) + "\"}\n\n";
    StreamTail t = tailOf(TOKEN, huge, DONE);
    assertThat(t.endedWithError()).isEqualTo(t.endedWithErrorParsed()).isFalse();
  }
}
