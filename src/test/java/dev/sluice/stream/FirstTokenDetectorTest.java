package dev.sluice.stream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.stream.FirstTokenDetector.Signal;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class FirstTokenDetectorTest {
  static final String ROLE = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
      + "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n";
  static final String TOKEN = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
      + "\"delta\":{\"content\":\" héllo\"},\"finish_reason\":null}]}\n\n";
  static final String DONE = "data: [DONE]\n\n";

  /** Feeds {@code chunks} one by one, as an attempt does, and returns the signal after each. */
  static List<Signal> feed(String... chunks) {
    FirstTokenDetector d = new FirstTokenDetector();
    Buffer pending = Buffer.buffer();
    List<Signal> out = new ArrayList<>();
    for (String c : chunks) {
      pending.appendBuffer(Buffer.buffer(c.getBytes(StandardCharsets.UTF_8)));
      Signal s = d.scan(pending);
      out.add(s);
      if (s != Signal.NONE) {
        break; // the attempt stops scanning at the first signal
      }
    }
    return out;
  }

  static Signal scanAll(String stream) {
    List<Signal> s = feed(stream);
    return s.get(s.size() - 1);
  }

  static String data(String json) {
    return "data: " + json + "\n\n";
  }

  @Test
  void theRoleOnlyChunkIsNotAToken() {
    assertThat(scanAll(ROLE)).isEqualTo(Signal.NONE);
    assertThat(scanAll(data("{\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}"))).isEqualTo(Signal.NONE);
  }

  @Test
  void roleThenContentIsATokenOnTheSecondEvent() {
    assertThat(feed(ROLE, TOKEN)).containsExactly(Signal.NONE, Signal.TOKEN);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {
      "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}",
      "{\"choices\":[{\"index\":0,\"text\":\" once\",\"logprobs\":null,\"finish_reason\":null}]}",
      "{\"choices\":[{\"delta\":{\"reasoning_content\":\"thinking\"}}]}",
      "{\"choices\":[{\"delta\":{\"reasoning\":\"thinking\"}}]}",
      "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}",
      "{\"choices\":[{\"delta\":{\"function_call\":{\"name\":\"f\",\"arguments\":\"\"}}}]}",
      "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}",
      "{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":\"length\"}]}",
      "{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"tool_calls\":[],\"content\":\"hi\"}}]}",
  })
  void theseAreTokens(String json) {
    assertThat(scanAll(data(json))).isEqualTo(Signal.TOKEN);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {
      "{\"choices\":[{\"delta\":{\"content\":\"\"}}]}",
      "{\"choices\":[{\"delta\":{\"content\":null}}]}",
      "{\"choices\":[{\"delta\":{\"tool_calls\":[]}}]}",
      "{\"choices\":[{\"delta\":{\"tool_calls\":null}}]}",
      "{\"choices\":[{\"delta\":{},\"finish_reason\":null}]}",
      "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":0,\"total_tokens\":3}}",
      "{\"choices\":[{\"delta\":{\"role\":\"assistant\"},\"logprobs\":{\"content\":[]}}]}",
      "{\"error\":null,\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}",
      "[1,2,3]",
      "not json at all",
  })
  void theseAreNotTokens(String json) {
    assertThat(scanAll(data(json))).isEqualTo(Signal.NONE);
  }

  @Test
  void doneEndsTheSearch() {
    assertThat(feed(ROLE, DONE)).containsExactly(Signal.NONE, Signal.DONE);
    assertThat(scanAll("data:[DONE]\n\n")).isEqualTo(Signal.DONE);
  }

  @Test
  void anErrorEventIsReported() {
    assertThat(feed(ROLE, data("{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}")))
        .containsExactly(Signal.NONE, Signal.ERROR);
    assertThat(scanAll("event: error\n" + data("{\"error\":\"boom\"}"))).isEqualTo(Signal.ERROR);
  }

  @Test
  void aNestedErrorFieldIsNotAStreamError() {
    // only a top-level "error" is the provider reporting a failure
    assertThat(scanAll(data("{\"choices\":[{\"delta\":{\"role\":\"assistant\"},\"error\":{\"x\":1}}]}")))
        .isEqualTo(Signal.NONE);
  }

  @Test
  void anEventIsOnlyJudgedWhenComplete() {
    String half1 = TOKEN.substring(0, 40);
    String half2 = TOKEN.substring(40, TOKEN.length() - 1); // all but the final newline
    assertThat(feed(ROLE, half1, half2, "\n")).containsExactly(Signal.NONE, Signal.NONE, Signal.NONE, Signal.TOKEN);
  }

  @Test
  void everySplitOfTheStreamFindsTheTokenOnceItIsComplete() {
    String stream = ": keep-alive\n\n" + ROLE + TOKEN;
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    for (int cut = 1; cut < bytes.length; cut++) {
      FirstTokenDetector d = new FirstTokenDetector();
      Buffer pending = Buffer.buffer();
      pending.appendBytes(bytes, 0, cut);
      Signal first = d.scan(pending);
      pending.appendBytes(bytes, cut, bytes.length - cut);
      Signal second = first == Signal.NONE ? d.scan(pending) : first;
      assertThat(first).as("cut at %d: nothing complete carries a token yet", cut).isEqualTo(Signal.NONE);
      assertThat(second).as("cut at %d", cut).isEqualTo(Signal.TOKEN);
    }
  }

  @Test
  void byteByByte() {
    String stream = ROLE.replace("\n", "\r\n") + TOKEN.replace("\n", "\r\n");
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    FirstTokenDetector d = new FirstTokenDetector();
    Buffer pending = Buffer.buffer();
    Signal s = Signal.NONE;
    int at = -1;
    for (int i = 0; i < bytes.length && s == Signal.NONE; i++) {
      pending.appendByte(bytes[i]);
      s = d.scan(pending);
      at = i;
    }
    assertThat(s).isEqualTo(Signal.TOKEN);
    assertThat(at).as("the token is seen at the last byte of its event").isEqualTo(bytes.length - 1);
  }

  @ParameterizedTest(name = "line ending {0}")
  @CsvSource({"LF", "CRLF"})
  void crlfLineEndingsWork(String ending) {
    String nl = ending.equals("LF") ? "\n" : "\r\n";
    assertThat(feed(ROLE.replace("\n", nl), TOKEN.replace("\n", nl))).containsExactly(Signal.NONE, Signal.TOKEN);
    assertThat(scanAll(DONE.replace("\n", nl))).isEqualTo(Signal.DONE);
    assertThat(feed(ROLE.replace("\n", nl), data("{\"error\":{\"message\":\"x\"}}").replace("\n", nl)))
        .containsExactly(Signal.NONE, Signal.ERROR);
  }

  @Test
  void crlfBoundarySplitBetweenItsBytes() {
    String role = ROLE.replace("\n", "\r\n");
    String token = TOKEN.replace("\n", "\r\n");
    String body = token.substring(0, token.length() - 4);
    // "\r\n\r\n" arrives as "\r", "\n\r", "\n"
    assertThat(feed(role, body + "\r", "\n\r", "\n")).containsExactly(Signal.NONE, Signal.NONE, Signal.NONE, Signal.TOKEN);
  }

  @Test
  void commentsKeepAlivesAndEventNamesAreNotTokens() {
    assertThat(feed(": ping\n\n", ":\n\n", "event: ping\n\n", "retry: 1000\n\n", "id: 7\n\n"))
        .containsOnly(Signal.NONE);
    assertThat(feed(": ping\n\n", ": ping\n\n", TOKEN)).containsExactly(Signal.NONE, Signal.NONE, Signal.TOKEN);
  }

  @Test
  void aCommentLineInsideAnEventDoesNotHideItsData() {
    assertThat(scanAll(": comment\nid: 1\n" + TOKEN)).isEqualTo(Signal.TOKEN);
  }

  @Test
  void multiLineDataIsJoined() {
    String event = "data: {\"choices\":[{\"delta\":\n" + "data: {\"content\":\"hi\"}}]}\n\n";
    assertThat(scanAll(event)).isEqualTo(Signal.TOKEN);
  }

  @Test
  void severalEventsInOneChunkStopAtTheFirstToken() {
    FirstTokenDetector d = new FirstTokenDetector();
    Buffer pending = Buffer.buffer(ROLE + ROLE + TOKEN + data("{\"error\":{}}"));
    assertThat(d.scan(pending)).isEqualTo(Signal.TOKEN);
  }

  @Test
  void aRoleChunkThenTokenInTheSameChunkCommitsOnTheToken() {
    assertThat(scanAll(ROLE + TOKEN)).isEqualTo(Signal.TOKEN);
  }

  @Test
  void aMultiByteCharacterSplitAcrossChunksIsDecodedWhole() {
    byte[] bytes = TOKEN.getBytes(StandardCharsets.UTF_8);
    int eAcute = TOKEN.indexOf('é');
    int cut = TOKEN.substring(0, eAcute).getBytes(StandardCharsets.UTF_8).length + 1; // inside the two-byte é
    FirstTokenDetector d = new FirstTokenDetector();
    Buffer pending = Buffer.buffer();
    pending.appendBytes(bytes, 0, cut);
    assertThat(d.scan(pending)).isEqualTo(Signal.NONE);
    pending.appendBytes(bytes, cut, bytes.length - cut);
    assertThat(d.scan(pending)).isEqualTo(Signal.TOKEN);
  }

  @Test
  void aRefusalIsAToken() {
    String refusal = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
        + "\"delta\":{\"refusal\":\"I can't\"},\"finish_reason\":null}]}\n\n";
    assertThat(feed(ROLE, refusal)).containsExactly(Signal.NONE, Signal.TOKEN);
  }

  /**
   * A first event of 4 MiB arriving in 16 KiB reads: each byte is looked at about twice (once in the
   * search for the event's end, once when the whole event is read), not the whole event again on
   * every read, which took over a second of event-loop time for 8 MiB (about 128 times each byte
   * here). Counted, not timed: the buffer counts the bytes the detector reads from it.
   */
  @Test
  void aLargeFirstEventInManyReadsIsScannedOnce() {
    StringBuilder sb = new StringBuilder("data: {\"choices\":[{\"index\":0,\"text\":\"");
    while (sb.length() < (4 << 20)) {
      sb.append("lorem ipsum dolor sit amet ");
    }
    byte[] all = sb.append("\"}]}\n\n").toString().getBytes(StandardCharsets.UTF_8);
    long[] reads = new long[1];
    Buffer real = Buffer.buffer();
    Buffer counting = (Buffer) java.lang.reflect.Proxy.newProxyInstance(Buffer.class.getClassLoader(),
        new Class<?>[] {Buffer.class}, (proxy, method, args) -> {
          if (method.getName().equals("getByte")) {
            reads[0]++;
          }
          try {
            return method.invoke(real, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
        });
    FirstTokenDetector d = new FirstTokenDetector();
    Signal s = Signal.NONE;
    for (int i = 0; i < all.length; i += 16 << 10) {
      real.appendBytes(all, i, Math.min(16 << 10, all.length - i));
      s = d.scan(counting);
    }
    assertThat(s).isEqualTo(Signal.TOKEN);
    assertThat(reads[0]).as("bytes read for a %d-byte event", all.length).isLessThan(3L * all.length);
  }
}
