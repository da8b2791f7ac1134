package dev.sluice.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A provider that misbehaves at the socket level in ways the simulator does not: it can reset the
 * connection as soon as it has read a request, or after the headers and the role-only first event
 * of a stream (before any token), or answer like a healthy OpenAI-compatible server. Plain blocking
 * sockets, one thread per connection: a fault injector for tests, not a mock of the gateway's client.
 */
public final class RawUpstream implements AutoCloseable {
  /** What the next requests get. */
  public enum Mode {
    /** A complete chat completion (JSON, or a short SSE stream when the request asks for one). */
    OK,
    /** Read the request, then reset the connection (RST) without a byte of answer. */
    RESET_ON_REQUEST,
    /** Send 200 with SSE headers and the role-only event, then reset: broken before the first token. */
    RESET_AFTER_ROLE,
    /** Read the request and never answer (until the caller gives up). */
    HANG,
    /**
     * An interim {@code 102 Processing} at once, then {@link #INTERIM_PAUSE_MS} later the answer of
     * {@link #OK}, its text naming the request's last message ({@code "for <content>"}), so that a
     * test sees whose answer a client got.
     */
    INTERIM_THEN_OK,
    /**
     * The answer of {@link #OK} as JSON, framed by the connection's end: no {@code Content-Length},
     * no chunked coding, no {@code Connection: close} (HTTP/1.1 allows it, RFC 9112 6.3), then closed.
     */
    OK_UNTIL_CLOSE
  }

  /** How long {@link Mode#INTERIM_THEN_OK} waits between the interim response and the answer. */
  public static final long INTERIM_PAUSE_MS = 300;
  private static final Pattern CONTENT = Pattern.compile("\"content\":\"([^\"]*)\"");

  private final ServerSocket server;
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger callerClosed = new AtomicInteger();
  private volatile Mode mode;
  private volatile boolean closed;

  public RawUpstream(Mode mode) {
    this.mode = mode;
    server = LoopbackServer.start("raw-upstream", this::serve);
  }

  public int port() {
    return server.getLocalPort();
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + port() + "/v1";
  }

  public void mode(Mode m) {
    this.mode = m;
  }

  /** Requests read so far. */
  public int requests() {
    return requests.get();
  }

  /** Hanging exchanges whose caller closed the connection. */
  public int callerClosed() {
    return callerClosed.get();
  }

  private void serve(Socket s) {
    try (s) {
      s.setTcpNoDelay(true);
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      while (!closed) {
        String head = HttpHead.read(in);
        if (head == null) {
          return;
        }
        int length = HttpHead.contentLength(head);
        byte[] body = in.readNBytes(length);
        requests.incrementAndGet();
        boolean stream = new String(body, StandardCharsets.UTF_8).replace(" ", "").contains("\"stream\":true");
        switch (mode) {
          case INTERIM_THEN_OK -> {
            out.write("HTTP/1.1 102 Processing\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Thread.sleep(INTERIM_PAUSE_MS);
            Matcher m = CONTENT.matcher(new String(body, StandardCharsets.UTF_8));
            String who = null;
            while (m.find()) {
              who = m.group(1);
            }
            String text = "for " + who;
            out.write((stream ? streamAnswer(text) : jsonAnswer(text)).getBytes(StandardCharsets.UTF_8));
            out.flush();
          }
          case OK -> {
            if (stream) {
              out.write(streamAnswer().getBytes(StandardCharsets.UTF_8));
            } else {
              out.write(jsonAnswer().getBytes(StandardCharsets.UTF_8));
            }
            out.flush();
          }
          case OK_UNTIL_CLOSE -> {
            String answer = jsonAnswer();
            out.write(answer.replaceFirst("content-length: \\d+\r\n", "").getBytes(StandardCharsets.UTF_8));
            out.flush();
            return;
          }
          case RESET_ON_REQUEST -> {
            reset(s);
            return;
          }
          case RESET_AFTER_ROLE -> {
            out.write(("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                + HttpHead.chunk("data: {\"id\":\"raw\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"raw\","
                    + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"))
                .getBytes(StandardCharsets.UTF_8));
            out.flush();
            Thread.sleep(20);
            reset(s);
            return;
          }
          case HANG -> {
            // wait for the caller to give up: read returns -1 (or fails) when it closes
            try {
              while (in.read() >= 0) {
                // discard
              }
            } catch (IOException e) {
              // reset by the caller
            }
            callerClosed.incrementAndGet();
            return;
          }
        }
      }
    } catch (IOException | InterruptedException e) {
      // the caller went away
    }
  }

  private static void reset(Socket s) throws IOException {
    s.setSoLinger(true, 0);
    s.close();
  }

  private static String jsonAnswer() {
    return jsonAnswer("raw answer");
  }

  private static String jsonAnswer(String text) {
    String body = "{\"id\":\"chatcmpl-raw\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"raw\","
        + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + text + "\"},"
        + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}";
    return "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
  }

  private static String streamAnswer() {
    return streamAnswer("raw");
  }

  private static String streamAnswer(String text) {
    String prefix = "data: {\"id\":\"raw\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"raw\",\"choices\":[{\"index\":0,";
    return "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        + HttpHead.chunk(prefix + "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n")
        + HttpHead.chunk(prefix + "\"delta\":{\"content\":\"" + text + "\"},\"finish_reason\":null}]}\n\n")
        + HttpHead.chunk(prefix + "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
        + HttpHead.chunk("data: [DONE]\n\n")
        + "0\r\n\r\n";
  }




  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
