package dev.sluice.stream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;

/**
 * The token counts a provider reported ({@code usage.prompt_tokens}, {@code usage.completion_tokens}),
 * read from a whole answer or from a stream's last events; -1 when the provider said nothing.
 */
public record Usage(int promptTokens, int completionTokens) {
  public static final Usage UNKNOWN = new Usage(-1, -1);
  private static final JsonFactory JSON = new JsonFactory();

  public long total() {
    if (promptTokens < 0 && completionTokens < 0) {
      return -1;
    }
    return Math.max(0, promptTokens) + Math.max(0, completionTokens);
  }

  /** From a non-streaming answer: the top-level {@code usage} object. */
  public static Usage ofAnswer(Buffer body) {
    if (body == null || body.length() == 0) {
      return UNKNOWN;
    }
    try (JsonParser p = JSON.createParser(body.getBytes())) {
      return topLevelUsage(p);
    } catch (IOException e) {
      return UNKNOWN;
    }
  }

  /** From the text of a stream's last events: the last event that has a {@code usage} object. */
  public static Usage ofStreamTail(String tail) {
    int at = tail.lastIndexOf("\"usage\"");
    while (at >= 0) {
      int start = tail.lastIndexOf("data:", at);
      if (start < 0) {
        return UNKNOWN;
      }
      int end = tail.indexOf('\n', at);
      String json = tail.substring(start + 5, end < 0 ? tail.length() : end).strip();
      try (JsonParser p = JSON.createParser(json)) {
        Usage u = topLevelUsage(p);
        if (u != UNKNOWN) {
          return u;
        }
      } catch (IOException e) {
        // an event cut by the start of the kept tail; look further back
      }
      at = tail.lastIndexOf("\"usage\"", start);
    }
    return UNKNOWN;
  }

  private static Usage topLevelUsage(JsonParser p) throws IOException {
    if (p.nextToken() != JsonToken.START_OBJECT) {
      return UNKNOWN;
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      if (name.equals("usage") && v == JsonToken.START_OBJECT) {
        int prompt = -1;
        int completion = -1;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String f = p.currentName();
          JsonToken fv = p.nextToken();
          if (fv == JsonToken.VALUE_NUMBER_INT && f.equals("prompt_tokens")) {
            prompt = p.getIntValue();
          } else if (fv == JsonToken.VALUE_NUMBER_INT && f.equals("completion_tokens")) {
            completion = p.getIntValue();
          } else {
            p.skipChildren();
          }
        }
        return prompt < 0 && completion < 0 ? UNKNOWN : new Usage(prompt, completion);
      }
      p.skipChildren();
    }
    return UNKNOWN;
  }
}
