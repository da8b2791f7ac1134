package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;

class BenchSpecTest {
  private static BenchSpec spec(String target, boolean stream, int maxTokens, boolean stamps) {
    return new BenchSpec(URI.create(target), "fast", 10, 1_000_000_000L, 0, stream, 16, maxTokens, stamps,
        5_000_000_000L, 1, "t");
  }

  @Test
  void findsTheChatCompletionsUrl() {
    assertThat(spec("http://127.0.0.1:9100", false, 0, false).requestUri())
        .hasToString("http://127.0.0.1:9100/v1/chat/completions");
    assertThat(spec("http://127.0.0.1:9100/v1/", false, 0, false).requestUri())
        .hasToString("http://127.0.0.1:9100/v1/chat/completions");
    assertThat(spec("http://h:1/openai/v1/chat/completions", false, 0, false).requestUri())
        .hasToString("http://h:1/openai/v1/chat/completions");
  }

  @Test
  void bodyAsksOnlyForWhatTheRunNeeds() {
    assertThat(RequestBody.json(spec("http://h:1", false, 0, false)))
        .contains("\"model\":\"fast\"").doesNotContain("stream").doesNotContain("max_tokens").doesNotContain("sim");
    assertThat(RequestBody.json(spec("http://h:1", true, 8, true)))
        .contains("\"stream\":true").contains("\"max_tokens\":8").contains("\"sim\":{\"timestamps\":true}");
  }

  @Test
  void rejectsWhatCannotRun() {
    assertThatThrownBy(() -> spec("ftp://h:1", false, 0, false)).hasMessageContaining("http:// or https://");
    assertThatThrownBy(() -> new BenchSpec(URI.create("http://h:1"), "m", 1, 1, 0, false, 1, 0, false, 1, 1, null, 0,
        java.nio.file.Path.of("ca.pem"))).hasMessageContaining("--ca-file");
    assertThatThrownBy(() -> new BenchSpec(URI.create("http://h:1"), "m", 0, 1, 0, false, 1, 0, false, 1, 1, null))
        .hasMessageContaining("--rate");
    assertThatThrownBy(() -> new BenchSpec(URI.create("http://h:1"), "m", 1, 1, 0, false, 1, 0, false, 1, 2, null))
        .hasMessageContaining("--event-loops");
  }
}
