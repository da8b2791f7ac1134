package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseScannerTest {
  private final List<String> events = new ArrayList<>();
  private final SseScanner scanner = new SseScanner(events::add);

  private void feed(String s) {
    scanner.feed(s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void splitsEventsOnBlankLines() {
    feed("data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n");
    assertThat(events).containsExactly("{\"a\":1}", "{\"b\":2}", "[DONE]");
  }

  @Test
  void survivesBytesCutAnywhere() {
    String text = "data: {\"content\":\"héllo\"}\r\n\r\n: keep-alive\n\nevent: x\ndata:{\"b\":2}\n\ndata: [DONE]\n\n";
    byte[] all = text.getBytes(StandardCharsets.UTF_8);
    for (int cut = 1; cut < all.length; cut++) {
      events.clear();
      SseScanner s = new SseScanner(events::add);
      s.feed(all, 0, cut);
      s.feed(all, cut, all.length - cut);
      assertThat(events).as("cut at %d", cut).containsExactly("{\"content\":\"héllo\"}", "{\"b\":2}", "[DONE]");
    }
  }

  @Test
  void feedsOneByteAtATime() {
    byte[] all = "data: one\n\ndata: two\n\n".getBytes(StandardCharsets.UTF_8);
    for (byte b : all) {
      scanner.feed(new byte[] {b});
    }
    assertThat(events).containsExactly("one", "two");
  }

  @Test
  void joinsMultiLineData() {
    feed("data: first\ndata: second\n\n");
    assertThat(events).containsExactly("first\nsecond");
  }

  @Test
  void skipsCommentsOtherFieldsAndAnUnfinishedEvent() {
    feed(": ping\n\nid: 7\nretry: 10\n\ndatum: no\n\ndata: cut off");
    assertThat(events).isEmpty();
  }
}
