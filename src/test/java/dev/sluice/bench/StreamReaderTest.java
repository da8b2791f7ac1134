package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StreamReaderTest {
  private final List<Long> firstText = new ArrayList<>();
  private final List<Long> delays = new ArrayList<>();
  private final StreamReader reader = new StreamReader(new StreamReader.Listener() {
    @Override
    public void firstText(long arrivalNanos) {
      firstText.add(arrivalNanos);
    }

    @Override
    public void chunkDelay(long nanos) {
      delays.add(nanos);
    }
  });

  private void feed(String s, long at) {
    reader.feed(s.getBytes(StandardCharsets.UTF_8), at);
  }

  private static String chunk(String word, long stamp) {
    return "data: {\"choices\":[{\"delta\":{\"content\":\"" + word + "\"}}],\"x_sim_ns\":" + stamp + "}\n\n";
  }

  @Test
  void measuresFirstTextAndEachChunksDelay() {
    feed("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n", 100);
    feed(chunk(" the", 1_000), 1_250);
    feed(chunk(" gateway", 2_000) + chunk(" keeps", 2_100), 2_400);
    feed("data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", 2_500);
    assertThat(firstText).containsExactly(1_250L);
    assertThat(delays).containsExactly(250L, 400L, 300L);
    assertThat(reader.cleanEnd()).isTrue();
  }

  @Test
  void aStreamWithoutDoneIsNotClean() {
    feed(chunk(" the", 1), 2);
    assertThat(reader.cleanEnd()).isFalse();
    assertThat(reader.sawDone()).isFalse();
  }

  @Test
  void anErrorEventSpoilsTheStreamEvenWithDone() {
    feed(chunk(" the", 1), 2);
    feed("data: {\"error\":{\"message\":\"idle timeout\",\"type\":\"timeout\"}}\n\ndata: [DONE]\n\n", 3);
    assertThat(reader.sawError()).isTrue();
    assertThat(reader.cleanEnd()).isFalse();
  }

  @Test
  void unstampedChunksGiveNoDelay() {
    feed("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n", 5);
    assertThat(delays).isEmpty();
    assertThat(firstText).containsExactly(5L);
  }
}
