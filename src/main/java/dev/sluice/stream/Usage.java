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

  private static final byte[] USAGE_KEY = "\"usage\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /**
   * From a non-streaming answer: the top-level {@code usage} object. OpenAI-compatible servers put
   * it last, so the body is searched from its end and only that object is read (by
   * {@link UsageMember}, or by a JSON parser when it has an unusual shape); a body without it costs
   * one backwards scan.
   */
  public static Usage ofAnswer(Buffer body) {
    if (body == null || body.length() == 0) {
      return UNKNOWN;
    }
    int at = lastIndexOf(body, USAGE_KEY);
    if (at < 0) {
      return UNKNOWN;
    }
    int end = body.length();
    byte[] member = body.getBytes(at, end);
    Usage quick = UsageMember.read(member);
    return quick != null ? quick : parsed(member, body);
  }

  /** What a JSON parser reads from the member {@code "usage": ...} of {@code body}. */
  static Usage parsed(byte[] member, Buffer body) {
    // parse {"usage": ...} by wrapping the member in braces
    byte[] wrapped = new byte[member.length + 1];
    wrapped[0] = '{';
    System.arraycopy(member, 0, wrapped, 1, member.length);
    try (JsonParser p = JSON.createParser(wrapped)) {
      return topLevelUsage(p);
    } catch (IOException e) {
      // the text after "usage" was not an object member after all (e.g. inside a string)
      try (JsonParser p = JSON.createParser(body.getBytes())) {
        return topLevelUsage(p);
      } catch (IOException e2) {
        return UNKNOWN;
      }
    }
  }

  private static int lastIndexOf(Buffer b, byte[] needle) {
    outer:
    for (int i = b.length() - needle.length; i >= 0; i--) {
      for (int j = 0; j < needle.length; j++) {
        if (b.getByte(i + j) != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /**
   * From the bytes of a stream's last events: the last event that has a {@code usage} object. The
   * usual case (the last {@code "usage"} is an object of plain counts) is read from the bytes; any
   * other goes through {@link #ofStreamTail(String)}.
   */
  public static Usage ofStreamTail(byte[] tail) {
    for (int i = tail.length - USAGE_KEY.length; i >= 0; i--) {
      if (tail[i] == '"' && java.util.Arrays.equals(tail, i, i + USAGE_KEY.length, USAGE_KEY, 0, USAGE_KEY.length)) {
        Usage quick = UsageMember.read(tail, i);
        return quick != null && quick != UNKNOWN ? quick
            : ofStreamTail(new String(tail, java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    return UNKNOWN;
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
