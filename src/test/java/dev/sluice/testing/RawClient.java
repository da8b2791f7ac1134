package dev.sluice.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * One HTTP/1.1 request over a plain socket that the test can abandon at the moment it chooses, as a
 * client that goes away does: by a reset (RST) or a normal close (FIN).
 */
public final class RawClient implements AutoCloseable {
  private final Socket socket;

  private RawClient(Socket socket) {
    this.socket = socket;
  }

  /** Connects and sends a chat request with extra header lines (each "Name: value"). */
  public static RawClient send(TestGateway gw, String body, String... headerLines) {
    try {
      Socket s = new Socket();
      s.setTcpNoDelay(true);
      s.connect(new InetSocketAddress("127.0.0.1", gw.gateway().port()), 5_000);
      s.setSoTimeout(30_000);
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      StringBuilder head = new StringBuilder("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
          .append("Content-Type: application/json\r\nContent-Length: ").append(b.length).append("\r\n");
      for (String h : headerLines) {
        head.append(h).append("\r\n");
      }
      head.append("\r\n");
      s.getOutputStream().write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().write(b);
      s.getOutputStream().flush();
      return new RawClient(s);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Reads until {@code text} has arrived (e.g. the status line, or a first event); returns what was read. */
  public String readUntil(String text) {
    try {
      InputStream in = socket.getInputStream();
      StringBuilder sb = new StringBuilder();
      byte[] buf = new byte[4096];
      while (sb.indexOf(text) < 0) {
        int n = in.read(buf);
        if (n < 0) {
          throw new IOException("closed before '" + text + "' arrived; got: " + sb);
        }
        sb.append(new String(buf, 0, n, StandardCharsets.UTF_8));
      }
      return sb.toString();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Goes away by resetting the connection. */
  public void reset() {
    try {
      socket.setSoLinger(true, 0);
      socket.close();
    } catch (IOException e) {
      // gone anyway
    }
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // gone anyway
    }
  }
}
