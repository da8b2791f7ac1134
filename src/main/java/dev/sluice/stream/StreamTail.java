package dev.sluice.stream;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/**
 * Remembers the last bytes of a relayed stream so that its end can be judged without parsing
 * every chunk: a clean finish ends with {@code data: [DONE]}; anything else is a truncation,
 * unless the provider's own last event was an error (then it is relayed, not doubled).
 */
public final class StreamTail {
  private static final int KEEP = 1024;
  private final byte[] tail = new byte[KEEP];
  private int filled;

  public void update(Buffer chunk) {
    int n = chunk.length();
    if (n >= KEEP) {
      chunk.getBytes(n - KEEP, n, tail, 0);
      filled = KEEP;
      return;
    }
    int keep = Math.min(filled, KEEP - n);
    System.arraycopy(tail, filled - keep, tail, 0, keep);
    chunk.getBytes(0, n, tail, keep);
    filled = keep + n;
  }

  /** The kept end of the stream, as text. */
  public String text() {
    return new String(tail, 0, filled, StandardCharsets.UTF_8);
  }

  private String lastEvent() {
    String s = new String(tail, 0, filled, StandardCharsets.UTF_8).strip();
    int at = s.lastIndexOf("data:");
    return at < 0 ? "" : s.substring(at + 5).strip();
  }

  /** The stream's last event was {@code [DONE]}. */
  public boolean complete() {
    return lastEvent().equals("[DONE]");
  }

  /** The stream's last event was the provider's own error. */
  public boolean endedWithError() {
    String e = lastEvent();
    return e.startsWith("{") && e.replace(" ", "").startsWith("{\"error\"");
  }
}
