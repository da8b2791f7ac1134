package dev.sluice.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

class UsageTest {
  @Test
  void readsUsageAtTheEndOfAnAnswer() {
    Buffer b = Buffer.buffer("{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"say \\\"usage\\\" twice\"}}],"
        + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34,\"total_tokens\":46}}");
    assertThat(Usage.ofAnswer(b)).isEqualTo(new Usage(12, 34));
    assertThat(Usage.ofAnswer(b).total()).isEqualTo(46);
  }

  @Test
  void usageNeedNotBeLast() {
    Buffer b = Buffer.buffer("{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2},\"id\":\"x\"}");
    assertThat(Usage.ofAnswer(b)).isEqualTo(new Usage(1, 2));
  }

  @Test
  void noUsageIsUnknown() {
    assertThat(Usage.ofAnswer(Buffer.buffer("{\"id\":\"x\"}"))).isEqualTo(Usage.UNKNOWN);
    assertThat(Usage.ofAnswer(Buffer.buffer("not json"))).isEqualTo(Usage.UNKNOWN);
    assertThat(Usage.UNKNOWN.total()).isEqualTo(-1);
  }

  @Test
  void readsTheUsageEventOfAStream() {
    String tail = "data: {\"id\":\"c\",\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        + "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7}}\n\n"
        + "data: [DONE]\n\n";
    assertThat(Usage.ofStreamTail(tail)).isEqualTo(new Usage(5, 7));
    assertThat(Usage.ofStreamTail("data: [DONE]\n\n")).isEqualTo(Usage.UNKNOWN);
  }

  @Test
  void aStreamsUsageFromItsBytesIsTheSameAsFromItsText() {
    String usage = "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7}}\n\n";
    String nullUsage = "data: {\"id\":\"c\",\"choices\":[{\"delta\":{}}],\"usage\":null}\n\n";
    String[] tails = {
        usage + "data: [DONE]\n\n",
        usage + nullUsage + "data: [DONE]\n\n",
        nullUsage + "data: [DONE]\n\n",
        "data: {\"usage\":{}}\n\n" + "data: [DONE]\n\n",
        usage + "data: {\"usage\":{}}\n\n",
        "data: [DONE]\n\n",
        "",
    };
    for (String t : tails) {
      assertThat(Usage.ofStreamTail(t.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
          .as(t).isEqualTo(Usage.ofStreamTail(t));
    }
    assertThat(Usage.ofStreamTail((usage + nullUsage).getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        .isEqualTo(new Usage(5, 7));
  }
}
