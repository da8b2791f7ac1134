package dev.sluice.stream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;

/**
 * Reads the server-sent events a stream starts with, until the first one that carries a token.
 * The role-only chunk OpenAI-compatible servers send first is not a token: committing on it
 * would give up fail-over for a provider that then stalls before saying anything.
 *
 * <p>A token is a non-empty {@code content}, {@code text}, {@code reasoning_content} or
 * {@code reasoning}, any {@code tool_calls} or {@code function_call}, or a {@code finish_reason}
 * (an empty answer is still an answer). {@code [DONE]} ends the search too; an event with a
 * top-level {@code error} is reported as such, and its data kept ({@link #error}): what follows it
 * in the same read (vLLM's {@code [DONE]}) is not part of it. Only the start of a stream is
 * parsed; after the commit point, chunks are relayed untouched.
 */
public final class FirstTokenDetector {
  /** What the events seen so far amount to. */
  public enum Signal { NONE, TOKEN, DONE, ERROR }

  private static final JsonFactory JSON = new JsonFactory();
  private int scanned;
  /** Where the search for the end of the event that starts at {@code scanned} resumes. */
  private int resume;
  /** The data of the error event {@link #scan} answered {@link Signal#ERROR} for. */
  private String error;

  /**
   * Scans complete events in {@code pending} not yet scanned.
   *
   * @param pending every byte received so far
   */
  public Signal scan(Buffer pending) {
    int len = pending.length();
    int start = scanned;
    // bytes of an unfinished event already searched are not searched again: a large event that
    // arrives in many reads would otherwise cost time quadratic in its size, on the event loop
    int i = Math.max(scanned, resume);
    while (i < len) {
      byte b = pending.getByte(i);
      if (b == '\n') {
        // an event ends at an empty line: "\n\n" or "\r\n\r\n"
        int next = i + 1;
        if (next < len && pending.getByte(next) == '\r') {
          next++;
        }
        if (next < len && pending.getByte(next) == '\n') {
          Signal s = event(pending, start, i);
          scanned = next + 1;
          start = scanned;
          if (s != Signal.NONE) {
            return s;
          }
          i = scanned;
          continue;
        }
      }
      i++;
    }
    // the last two bytes may begin a separator whose rest has not arrived
    resume = Math.max(start, len - 2);
    return Signal.NONE;
  }

  /** The data of the event that made {@link #scan} answer {@link Signal#ERROR}; null before. */
  public String error() {
    return error;
  }

  private Signal event(Buffer buf, int from, int to) {
    // join the event's data lines
    StringBuilder data = null;
    int lineStart = from;
    for (int i = from; i <= to; i++) {
      if (i == to || buf.getByte(i) == '\n') {
        int end = i;
        if (end > lineStart && buf.getByte(end - 1) == '\r') {
          end--;
        }
        if (end - lineStart >= 5 && buf.getByte(lineStart) == 'd' && buf.getString(lineStart, lineStart + 5).equals("data:")) {
          int s = lineStart + 5;
          if (s < end && buf.getByte(s) == ' ') {
            s++;
          }
          if (data == null) {
            data = new StringBuilder(end - s);
          } else {
            data.append('\n');
          }
          data.append(buf.getString(s, end, "UTF-8"));
        }
        lineStart = i + 1;
      }
    }
    if (data == null) {
      return Signal.NONE; // comments, keep-alives, event names
    }
    String payload = data.toString().trim();
    if (payload.equals("[DONE]")) {
      return Signal.DONE;
    }
    Signal s = classify(payload);
    if (s == Signal.ERROR) {
      error = payload;
    }
    return s;
  }

  static Signal classify(String json) {
    try (JsonParser p = JSON.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return Signal.NONE;
      }
      int depth = 1;
      JsonToken t;
      while (depth > 0 && (t = p.nextToken()) != null) {
        switch (t) {
          case START_OBJECT, START_ARRAY -> depth++;
          case END_OBJECT, END_ARRAY -> depth--;
          case FIELD_NAME -> {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (depth == 1 && name.equals("error") && v != JsonToken.VALUE_NULL) {
              return Signal.ERROR;
            }
            switch (name) {
              case "content", "text", "reasoning_content", "reasoning", "refusal" -> {
                if (v == JsonToken.VALUE_STRING && p.getTextLength() > 0) {
                  return Signal.TOKEN;
                }
              }
              case "finish_reason" -> {
                if (v != JsonToken.VALUE_NULL) {
                  return Signal.TOKEN;
                }
              }
              case "tool_calls", "function_call" -> {
                if (v == JsonToken.START_OBJECT) {
                  return Signal.TOKEN;
                }
                if (v == JsonToken.START_ARRAY) {
                  if (p.nextToken() != JsonToken.END_ARRAY) {
                    return Signal.TOKEN;
                  }
                  continue; // an empty list: nothing yet, and the array is already closed
                }
              }
              default -> { }
            }
            if (v == JsonToken.START_OBJECT || v == JsonToken.START_ARRAY) {
              depth++;
            }
          }
          default -> { }
        }
      }
      return Signal.NONE;
    } catch (IOException e) {
      return Signal.NONE; // not JSON: not a token either; the stream's end decides
    }
  }
}
