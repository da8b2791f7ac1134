package dev.sluice.provider.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.testing.TestGateway;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimTimestampsTest {
  @Test
  void offByDefaultAndReadFromTheSimObject() throws Exception {
    assertThat(SimModel.FAST.timestamps()).isFalse();
    SimModel on = SimProfile.apply(SimModel.FAST, new ObjectMapper().readTree("{\"timestamps\":true}"));
    assertThat(on.timestamps()).isTrue();
    assertThat(on.tokensPerSecond()).isEqualTo(SimModel.FAST.tokensPerSecond());
  }

  @Test
  void everyContentChunkCarriesItsWriteInstantOnlyWhenAsked() throws Exception {
    ObjectMapper json = new ObjectMapper();
    try (TestGateway gw = TestGateway.start(TestGateway.SIMPLE)) {
      long before = System.nanoTime();
      String stamped = gw.post("/v1/chat/completions",
          TestGateway.chat("\"stream\":true,\"max_tokens\":5,\"sim\":{\"timestamps\":true}")).body();
      long after = System.nanoTime();
      List<String> data = Arrays.stream(stamped.split("\n\n")).map(String::trim)
          .filter(s -> s.startsWith("data: {")).map(s -> s.substring(6)).toList();
      List<String> content = data.stream().filter(s -> s.contains("\"content\":\"") && !s.contains("\"content\":\"\""))
          .toList();
      assertThat(content).hasSize(5);
      for (String c : content) {
        long stamp = json.readTree(c).path("x_sim_ns").asLong();
        assertThat(stamp).isBetween(before, after);
      }
      assertThat(data.stream().filter(s -> !content.contains(s))).noneMatch(s -> s.contains("x_sim_ns"));
      assertThat(stamped).endsWith("data: [DONE]\n\n");

      String plain = gw.post("/v1/chat/completions", TestGateway.chat("\"stream\":true,\"max_tokens\":5")).body();
      assertThat(plain).doesNotContain("x_sim_ns");
      gw.awaitAtRest();
    }
  }
}
