package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ChunkFieldsTest {
  private static final String STAMPED = "{\"id\":\"chatcmpl-sim-1\",\"object\":\"chat.completion.chunk\",\"choices\":"
      + "[{\"index\":0,\"delta\":{\"content\":\" time\"},\"finish_reason\":null}],\"x_sim_ns\":123456789012}";

  @Test
  void readsTheSimulatorStamp() {
    assertThat(ChunkFields.simNanos(STAMPED)).isEqualTo(123456789012L);
    assertThat(ChunkFields.simNanos("{\"x_sim_ns\": 42}")).isEqualTo(42);
    assertThat(ChunkFields.simNanos("{\"x_sim_ns\":-5}")).isEqualTo(-5);
  }

  @Test
  void noStampIsMinusOne() {
    assertThat(ChunkFields.simNanos("{\"choices\":[]}")).isEqualTo(-1);
    assertThat(ChunkFields.simNanos("{\"x_sim_ns\":null}")).isEqualTo(-1);
  }

  @Test
  void tellsTextFromRoleAndFinishChunks() {
    assertThat(ChunkFields.hasText(STAMPED)).isTrue();
    assertThat(ChunkFields.hasText("{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}")).isFalse();
    assertThat(ChunkFields.hasText("{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}")).isFalse();
    assertThat(ChunkFields.hasText("{\"choices\":[{\"text\":\" hi\",\"finish_reason\":null}]}")).isTrue();
    assertThat(ChunkFields.hasText("{\"choices\":[{\"delta\":{\"content\":null}}]}")).isFalse();
  }

  @Test
  void recognisesErrorAndDoneEvents() {
    assertThat(ChunkFields.isError("{\"error\":{\"message\":\"upstream reset\"}}")).isTrue();
    assertThat(ChunkFields.isError(" {\"error\":{}}")).isTrue();
    assertThat(ChunkFields.isError(STAMPED)).isFalse();
    assertThat(ChunkFields.isDone("[DONE]")).isTrue();
    assertThat(ChunkFields.isDone("[DONE] ")).isTrue();
    assertThat(ChunkFields.isDone("{\"done\":true}")).isFalse();
  }

  @Test
  void readsChunksWrittenWithSpacesAroundColons() {
    // valid JSON as Python's json.dumps writes it by default; a target answering so had no first-token time
    String spaced = "{\"id\": \"c1\", \"choices\": [{\"index\": 0, \"delta\": {\"content\": \"Hi\"}}],"
        + " \"x_sim_ns\" : 77}";
    assertThat(ChunkFields.hasText(spaced)).isTrue();
    assertThat(ChunkFields.simNanos(spaced)).isEqualTo(77);
    assertThat(ChunkFields.hasText("{\"choices\": [{\"text\" : \" hi\"}]}")).isTrue();
    assertThat(ChunkFields.hasText("{\"choices\": [{\"delta\": {\"role\": \"assistant\", \"content\": \"\"}}]}"))
        .isFalse();
    assertThat(ChunkFields.hasText("{\"choices\": [{\"delta\": {\"content\": null}}]}")).isFalse();
    assertThat(ChunkFields.isError("{ \"error\": {\"message\": \"upstream reset\"}}")).isTrue();
    // the key's text as a value is not the member
    assertThat(ChunkFields.hasText("{\"kind\":\"content\",\"delta\":{}}")).isFalse();
    assertThat(ChunkFields.isError("{\"type\":\"error\"}")).isFalse();
  }
}
