package dev.sluice.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The chat-completions body every request of a run sends (the same bytes each time). */
public final class RequestBody {
  private static final ObjectMapper JSON = new ObjectMapper();

  private RequestBody() {}

  public static String json(BenchSpec spec) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", spec.model());
    body.putArray("messages").addObject().put("role", "user").put("content", "Say something about time.");
    if (spec.stream()) {
      body.put("stream", true);
    }
    if (spec.maxTokens() > 0) {
      body.put("max_tokens", spec.maxTokens());
    }
    if (spec.simTimestamps()) {
      body.putObject("sim").put("timestamps", true);
    }
    return body.toString();
  }
}
