package dev.sluice.stream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Remembers the last bytes of a relayed stream so that its end can be judged without parsing
 * every chunk: a clean finish ends with {@code data: [DONE]}; anything else is a truncation,
 * unless the provider's own last event was an error (then it is relayed, not doubled).
 *
 * <p>The window is parsed only when the stream ends, into events (separated by blank lines) and
 * their {@code data:} lines: a {@code data:} inside a JSON string is not an event, and comments or
 * keep-alives after the last event do not hide it. An error is an event whose JSON has a top-level
 * {@code error} member, first or not. An event longer than the window has no visible
 * start and counts as neither {@code [DONE]} nor an error.
 */
public final class StreamTail {
  /** Enough for the longest error event providers send in practice; [DONE] needs far less. */
  static final int KEEP = 2048;
  /** KEEP is a power of two: a position's place in the ring is its low bits. */
  private static final int MASK = KEEP - 1;
  private static final JsonFactory JSON = new JsonFactory();
  private final byte[] ring = new byte[KEEP];
  private long total;

  public void update(Buffer chunk) {
    int n = chunk.length();
    int from = Math.max(0, n - KEEP);
    long offset = total + from;
    while (from < n) {
      int at = (int) (offset & MASK);
      int len = Math.min(n - from, KEEP - at);
      chunk.getBytes(from, from + len, ring, at);
      from += len;
      offset += len;
    }
    total += n;
  }

  /** The kept end of the stream, as bytes. */
  public byte[] bytes() {
    int len = (int) Math.min(total, KEEP);
    byte[] out = new byte[len];
    int start = (int) ((total - len) & MASK);
    int first = Math.min(len, KEEP - start);
    System.arraycopy(ring, start, out, 0, first);
    System.arraycopy(ring, 0, out, first, len - first);
    return out;
  }

  private String window() {
    return new String(bytes(), StandardCharsets.UTF_8);
  }

  /** Whether the stream's last {@code n} bytes are {@code suffix}'s last {@code n}. */
  private boolean endsWith(byte[] suffix, int n) {
    if (total < n) {
      return false;
    }
    long from = total - n;
    for (int j = 0; j < n; j++) {
      if (ring[(int) ((from + j) & MASK)] != suffix[suffix.length - n + j]) {
        return false;
      }
    }
    return true;
  }

  /** The data of the last event that has any, or "" when there is none or its start is not in the window. */
  public String lastEventData() {
    return lastEvents()[1];
  }

  /** The data of the last two events that have any: [one before, last]; "" where unknown. */
  private String[] lastEvents() {
    String s = window();
    // unless the window holds the whole stream, whatever precedes its first blank line is the
    // cut-off end of an event whose start is gone
    boolean known = total <= KEEP;
    String last = "";
    String before = "";
    StringBuilder data = null;
    int i = 0;
    int n = s.length();
    if (!known) {
      int nl = s.indexOf('\n');
      i = nl < 0 ? n + 1 : nl + 1; // the first line may be cut: not even a blank line can be trusted
    }
    while (i <= n) {
      int nl = s.indexOf('\n', i);
      int end = nl < 0 ? n : nl;
      String line = s.substring(i, end > i && s.charAt(end - 1) == '\r' ? end - 1 : end);
      if (line.isEmpty()) {
        if (data != null) {
          before = last;
          last = known ? data.toString().strip() : "";
        }
        data = null;
        known = true;
      } else if (line.startsWith("data:")) {
        String v = line.substring(line.length() > 5 && line.charAt(5) == ' ' ? 6 : 5);
        data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
      }
      if (nl < 0) {
        break;
      }
      i = nl + 1;
    }
    if (data != null) {
      before = last;
      last = known ? data.toString().strip() : "";
    }
    return new String[] {before, last};
  }

  /** The usual clean end: an event of the one line {@code data: [DONE]}, after a blank line. */
  private static final byte[] DONE_EVENT = "\n\ndata: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

  /** The stream's last event was {@code [DONE]}. */
  public boolean complete() {
    // the usual end is recognised from the bytes; any other form is parsed into events
    if (endsWith(DONE_EVENT, DONE_EVENT.length) || (total == DONE_EVENT.length - 2 && endsWith(DONE_EVENT, (int) total))) {
      return true;
    }
    return lastEventData().equals("[DONE]");
  }

  /**
   * The stream's last event was the provider's own error, or its last but one, followed by
   * {@code [DONE]} (vLLM ends a stream that failed that way).
   */
  public boolean endedWithError() {
    // the usual end, [DONE] after an ordinary event, is told from a few bytes: parsing the window
    // at every stream's end cost about a tenth of a short stream's CPU
    if (endsWith(DONE_EVENT, DONE_EVENT.length) && !eventBeforeDoneMayBeError()) {
      return false;
    }
    return endedWithErrorParsed();
  }

  /** {@link #endedWithError}, always from the parsed events (what the quick check must agree with). */
  boolean endedWithErrorParsed() {
    String[] e = lastEvents();
    return isError(e[1]) || (e[1].equals("[DONE]") && isError(e[0]));
  }

  private static final byte[] ERROR_MEMBER = "\"error\"".getBytes(StandardCharsets.US_ASCII);

  /**
   * For a stream ending in the usual {@code [DONE]} event: whether the event before it might be an
   * error, that is, unless it plainly starts with a {@code data:} line whose value starts with
   * {@code {} and has no {@code "error"} anywhere (OpenRouter puts its mid-stream {@code error}
   * after the chunk's {@code id}). Anything unusual answers "might".
   */
  private boolean eventBeforeDoneMayBeError() {
    long end = total - DONE_EVENT.length; // the blank line that ends the event before [DONE]
    long floor = Math.max(0, total - KEEP);
    long start = end;
    while (start > floor && !blankLineEndsAt(start, floor)) {
      start--;
    }
    if (start == floor && floor > 0) {
      return true; // its start is not in the window
    }
    long i = start;
    for (byte b : DATA) {
      if (i >= end || at(i++) != b) {
        return true; // not a plain data line first: let the parser judge
      }
    }
    while (i < end && at(i) == ' ') {
      i++;
    }
    if (i >= end || at(i++) != '{') {
      return false; // data that is not an object is not an error
    }
    for (; i <= end - ERROR_MEMBER.length; i++) {
      if (at(i) == '"' && matches(ERROR_MEMBER, i)) {
        return true;
      }
    }
    return false;
  }

  private boolean matches(byte[] bytes, long position) {
    for (int j = 0; j < bytes.length; j++) {
      if (at(position + j) != bytes[j]) {
        return false;
      }
    }
    return true;
  }

  private static final byte[] DATA = "data:".getBytes(StandardCharsets.US_ASCII);

  /** Whether the bytes just before {@code position} end a blank line ("\n\n" or "\n\r\n"). */
  private boolean blankLineEndsAt(long position, long floor) {
    if (position - 2 < floor || at(position - 1) != '\n') {
      return false;
    }
    byte b = at(position - 2);
    return b == '\n' || (b == '\r' && position - 3 >= floor && at(position - 3) == '\n');
  }

  private byte at(long position) {
    return ring[(int) (position & MASK)];
  }

  /** An object with a top-level {@code error} that is not null, wherever it stands among its members. */
  private static boolean isError(String e) {
    if (!e.startsWith("{") || !e.contains("\"error\"")) {
      return false;
    }
    try (JsonParser p = JSON.createParser(e)) {
      p.nextToken();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        if (p.nextToken() != JsonToken.VALUE_NULL && name.equals("error")) {
          return true;
        }
        p.skipChildren();
      }
    } catch (IOException x) {
      // not JSON past this point, and no error member before it
    }
    return false;
  }
}
