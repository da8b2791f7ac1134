package dev.sluice.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Splits a server-sent-event byte stream into events and hands on each event's {@code data}
 * (multi-line data joined with a newline). Bytes may arrive cut anywhere, even inside a line.
 * Other fields and comments are skipped; an event left without its closing blank line when the
 * stream ends is dropped, as the SSE specification says.
 */
public final class SseScanner {
  private final Consumer<String> onData;
  private byte[] partial = new byte[256];
  private int partialLength;
  private StringBuilder data;

  public SseScanner(Consumer<String> onData) {
    this.onData = onData;
  }

  public void feed(byte[] bytes) {
    feed(bytes, 0, bytes.length);
  }

  public void feed(byte[] bytes, int offset, int length) {
    int end = offset + length;
    int lineStart = offset;
    for (int i = offset; i < end; i++) {
      if (bytes[i] != '\n') {
        continue;
      }
      if (partialLength > 0) {
        append(bytes, lineStart, i - lineStart);
        line(partial, 0, partialLength);
        partialLength = 0;
      } else {
        line(bytes, lineStart, i - lineStart);
      }
      lineStart = i + 1;
    }
    if (lineStart < end) {
      append(bytes, lineStart, end - lineStart);
    }
  }

  private void append(byte[] bytes, int offset, int length) {
    if (partialLength + length > partial.length) {
      partial = Arrays.copyOf(partial, Math.max(partial.length * 2, partialLength + length));
    }
    System.arraycopy(bytes, offset, partial, partialLength, length);
    partialLength += length;
  }

  private void line(byte[] b, int offset, int length) {
    if (length > 0 && b[offset + length - 1] == '\r') {
      length--;
    }
    if (length == 0) {
      if (data != null) {
        String d = data.toString();
        data = null;
        onData.accept(d);
      }
      return;
    }
    if (length < 5 || b[offset] != 'd' || b[offset + 1] != 'a' || b[offset + 2] != 't' || b[offset + 3] != 'a'
        || b[offset + 4] != ':') {
      return; // id:, event:, retry:, comments and unknown fields carry nothing we measure
    }
    int from = offset + 5;
    if (from < offset + length && b[from] == ' ') {
      from++;
    }
    String value = new String(b, from, offset + length - from, StandardCharsets.UTF_8);
    if (data == null) {
      data = new StringBuilder(value);
    } else {
      data.append('\n').append(value);
    }
  }
}
