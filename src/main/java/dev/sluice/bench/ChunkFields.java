package dev.sluice.bench;

/**
 * Reads the few things the generator needs from one streamed chunk's JSON without parsing it
 * whole: whether it carries generated text, the simulator's write instant, whether it is an
 * error event. Chunks are small and their shape is fixed by the OpenAI streaming format.
 */
public final class ChunkFields {
  public static final String DONE = "[DONE]";
  private static final String STAMP = "\"x_sim_ns\":";
  private static final String CONTENT = "\"content\":\"";
  private static final String TEXT = "\"text\":\"";

  private ChunkFields() {}

  /** The {@code x_sim_ns} member's value, or -1 when the chunk has none. */
  public static long simNanos(String chunk) {
    int at = chunk.lastIndexOf(STAMP);
    if (at < 0) {
      return -1;
    }
    int i = at + STAMP.length();
    while (i < chunk.length() && chunk.charAt(i) == ' ') {
      i++;
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
    return nonEmptyAfter(chunk, CONTENT) || nonEmptyAfter(chunk, TEXT);
  }

  private static boolean nonEmptyAfter(String chunk, String key) {
    int at = chunk.indexOf(key);
    int i = at + key.length();
    return at >= 0 && i < chunk.length() && chunk.charAt(i) != '"';
  }

  /** True for an error event, e.g. the gateway's {@code {"error":{...}}} that ends a failed stream. */
  public static boolean isError(String chunk) {
    int i = 0;
    while (i < chunk.length() && Character.isWhitespace(chunk.charAt(i))) {
      i++;
    }
    return chunk.startsWith("{\"error\"", i);
  }

  public static boolean isDone(String chunk) {
    return DONE.equals(chunk.trim());
  }
}
