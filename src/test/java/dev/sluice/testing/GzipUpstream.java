package dev.sluice.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/**
 * An OpenAI-compatible provider that answers with {@code Content-Encoding: gzip} whatever the
 * request asked for, as some servers and CDN fronts do when a request names no encoding (RFC 9110
 * 12.5.3: without {@code Accept-Encoding} any coding is acceptable). A stream is compressed with a
 * sync flush after every event, so each event can be decoded as it arrives. It keeps the last
 * request head, to see what the gateway asked for.
 */
public final class GzipUpstream implements AutoCloseable {
  private final ServerSocket server;
  private final List<String> events;
  private final String json;
  private volatile String lastHead;
  private volatile boolean always = true;
  private volatile String label = "gzip";

  /**
   * @param json   the answer to a non-stream request
   * @param events the data of each event of a stream (without {@code data: } and the blank line)
   */
  public GzipUpstream(String json, List<String> events) {
    this.json = json;
    this.events = events;
    server = LoopbackServer.start("gzip-upstream", this::serve);
  }

  /** False: compress only when the request's {@code Accept-Encoding} names gzip. */
  public GzipUpstream always(boolean a) {
    this.always = a;
    return this;
  }

  /** The coding the answer is labelled with (its bytes stay gzip): one the gateway may not decode. */
  public GzipUpstream label(String coding) {
    this.label = coding;
    return this;
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
  }

  /** The head of the latest request, lower-cased. */
  public String lastHead() {
    return lastHead;
  }

  private boolean compress(String head) {
    if (always) {
      return true;
    }
    for (String line : head.split("\r\n")) {
      if (line.startsWith("accept-encoding:") && line.contains("gzip")) {
        return true;
      }
    }
    return false;
  }

  private void serve(Socket s) {
    try (s) {
      s.setTcpNoDelay(true);
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      while (true) {
        String head = HttpHead.read(in);
        if (head == null) {
          return;
        }
        head = head.toLowerCase(java.util.Locale.ROOT);
        lastHead = head;
        String body = new String(in.readNBytes(HttpHead.contentLength(head)), StandardCharsets.UTF_8);
        boolean gzip = compress(head);
        String coding = gzip ? "content-encoding: " + label + "\r\n" : "";
        if (body.contains("\"stream\":true")) {
          out.write(("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n" + coding
              + "transfer-encoding: chunked\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
          Flushing f = new Flushing(out);
          OutputStream sink = gzip ? new GZIPOutputStream(f, true) : f;
          for (String e : events) {
            sink.write(("data: " + e + "\n\n").getBytes(StandardCharsets.UTF_8));
            sink.flush();
          }
          sink.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
          sink.close(); // finishes the gzip member into the last chunk
          out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
        } else {
          byte[] b = gzip ? gzip(json.getBytes(StandardCharsets.UTF_8)) : json.getBytes(StandardCharsets.UTF_8);
          out.write(("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" + coding + "content-length: "
              + b.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
          out.write(b);
          out.flush();
        }
      }
    } catch (IOException e) {
      // the caller went away
    }
  }

  /** {@code b} as one gzip member. */
  public static byte[] gzip(byte[] b) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(o)) {
      z.write(b);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return o.toByteArray();
  }

  /** Writes each flush as one HTTP chunk; close does not close the socket. */
  private static final class Flushing extends OutputStream {
    private final OutputStream out;
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

    Flushing(OutputStream out) {
      this.out = out;
    }

    @Override
    public void write(int b) {
      buf.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      buf.write(b, off, len);
    }

    @Override
    public void flush() throws IOException {
      if (buf.size() > 0) {
        out.write((Integer.toHexString(buf.size()) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        buf.writeTo(out);
        out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
        buf.reset();
      }
      out.flush();
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
