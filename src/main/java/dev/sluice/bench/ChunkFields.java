package dev.sluice.bench;

/**
 * Reads the few things the generator needs from one streamed chunk's JSON without parsing it
 * whole: whether it carries generated text, the simulator's write instant, whether it is an
 * error event. Chunks are small and their shape is fixed by the OpenAI streaming format.
 */
public final class ChunkFields {
  public static final String DONE = "[DONE]";
  private static final String STAMP_KEY = "\"x_sim_ns\"";
  private static final String CONTENT_KEY = "\"content\"";
  private static final String TEXT_KEY = "\"text\"";
  private static final String ERROR_KEY = "\"error\"";

  private ChunkFields() {}

  /** The {@code x_sim_ns} member's value, or -1 when the chunk has none. */
  public static long simNanos(String chunk) {
    int i = valueAfter(chunk, STAMP_KEY, true);
    if (i < 0) {
      return -1;
    }
    boolean negative = i < chunk.length() && chunk.charAt(i) == '-';
    if (negative) {
      i++;
    }
    long v = 0;
    int digits = 0;
    for (; i < chunk.length() && digits < 19; i++, digits++) {
      char c = chunk.charAt(i);
      if (c < '0' || c > '9') {
        break;
      }
      v = v * 10 + (c - '0');
    }
    if (digits == 0) {
      return -1;
    }
    // nanoTime may be negative on some systems; keep it, callers only subtract
    return negative ? -v : v;
  }

  /** True when the chunk has a non-empty {@code content} (chat) or {@code text} (completions). */
  public static boolean hasText(String chunk) {
    return nonEmptyString(chunk, CONTENT_KEY) || nonEmptyString(chunk, TEXT_KEY);
  }

  private static boolean nonEmptyString(String chunk, String key) {
    int i = valueAfter(chunk, key, false);
    return i >= 0 && i + 1 < chunk.length() && chunk.charAt(i) == '"' && chunk.charAt(i + 1) != '"';
  }

  /**
   * Where the value of member {@code key} (quoted) starts, or -1 when the chunk has none. JSON allows
   * whitespace around the colon ({@code "content": "hi"}, as Python's json.dumps writes it), so it is
   * skipped; an occurrence of the key's text that is not followed by a colon is a value, not a member.
   */
  private static int valueAfter(String chunk, String key, boolean last) {
    int at = last ? chunk.lastIndexOf(key) : chunk.indexOf(key);
    while (at >= 0) {
      int i = skipSpace(chunk, at + key.length());
      if (i < chunk.length() && chunk.charAt(i) == ':') {
        return skipSpace(chunk, i + 1);
      }
      at = last ? chunk.lastIndexOf(key, at - 1) : chunk.indexOf(key, at + 1);
    }
    return -1;
  }

  private static int skipSpace(String s, int i) {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
      i++;
    }
    return i;
  }

  /** True for an error event, e.g. the gateway's {@code {"error":{...}}} that ends a failed stream. */
  public static boolean isError(String chunk) {
    int i = skipSpace(chunk, 0);
    if (i >= chunk.length() || chunk.charAt(i) != '{') {
      return false;
    }
    i = skipSpace(chunk, i + 1);
    if (!chunk.startsWith(ERROR_KEY, i)) {
      return false;
    }
    i = skipSpace(chunk, i + ERROR_KEY.length());
    return i < chunk.length() && chunk.charAt(i) == ':';
  }

  public static boolean isDone(String chunk) {
    return DONE.equals(chunk.trim());
  }
}
