package dev.sluice.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** Reading an HTTP/1.1 request head off a raw socket, and framing chunks: for the raw test upstreams. */
public final class HttpHead {
  private HttpHead() {}

  /** The head up to and including its blank line, or null when the peer closed first. */
  public static String read(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    while (true) {
      int c = in.read();
      if (c < 0) {
        return null;
      }
      b.write(c);
      state = switch (state) {
        case 0 -> c == '\r' ? 1 : 0;
        case 1 -> c == '\n' ? 2 : c == '\r' ? 1 : 0;
        case 2 -> c == '\r' ? 3 : 0;
        case 3 -> c == '\n' ? 4 : c == '\r' ? 1 : 0;
        default -> 0;
      };
      if (state == 4) {
        return b.toString(StandardCharsets.ISO_8859_1);
      }
    }
  }

  /** The head's {@code Content-Length}, or 0. */
  public static int contentLength(String head) {
    for (String line : head.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("content-length")) {
        return Integer.parseInt(line.substring(colon + 1).trim());
      }
    }
    return 0;
  }

  /** {@code s} as one chunk of a chunked body. */
  public static String chunk(String s) {
    return chunk(s.getBytes(StandardCharsets.UTF_8));
  }

  /** {@code b} as one chunk of a chunked body (bytes kept as ISO-8859-1 characters). */
  public static String chunk(byte[] b) {
    return Integer.toHexString(b.length) + "\r\n" + new String(b, StandardCharsets.ISO_8859_1) + "\r\n";
  }
}
