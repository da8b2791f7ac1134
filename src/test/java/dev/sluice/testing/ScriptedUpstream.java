package dev.sluice.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;

/**
 * A provider that answers every request by playing a script of raw writes, pauses and an ending
 * (reset, close, or hang until the caller leaves), chosen from the request's body: for stream
 * shapes the simulator does not make (events cut anywhere, odd separators, vLLM's error endings).
 */
public final class ScriptedUpstream implements AutoCloseable {
  /** One step of a script. */
  public sealed interface Step permits Write, Pause, Reset, Close, Hang {}

  /** Writes bytes and flushes. */
  public record Write(byte[] bytes) implements Step {}

  /** Waits. */
  public record Pause(long ms) implements Step {}

  /** Resets the connection (RST). */
  public record Reset() implements Step {}

  /** Closes the connection (FIN). */
  public record Close() implements Step {}

  /** Sends nothing more until the caller closes. */
  public record Hang() implements Step {}

  /** Response head of a chunked SSE answer. */
  public static final String SSE_HEAD =
      "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

  public static Step write(String s) {
    return new Write(s.getBytes(StandardCharsets.UTF_8));
  }

  public static Step write(byte[] b) {
    return new Write(b);
  }

  public static Step pause(long ms) {
    return new Pause(ms);
  }

  private final ServerSocket server;
  private volatile Function<String, List<Step>> script;
  private volatile boolean closed;

  public ScriptedUpstream(Function<String, List<Step>> script) {
    this.script = script;
    server = LoopbackServer.start("scripted-upstream", this::serve);
  }

  /** The script for the next requests, from each request's body. */
  public void script(Function<String, List<Step>> s) {
    this.script = s;
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
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
        byte[] body = in.readNBytes(HttpHead.contentLength(head));
        for (Step st : script.apply(new String(body, StandardCharsets.UTF_8))) {
          if (st instanceof Write w) {
            out.write(w.bytes());
            out.flush();
          } else if (st instanceof Pause p) {
            Thread.sleep(p.ms());
          } else if (st instanceof Reset) {
            s.setSoLinger(true, 0);
            s.close();
            return;
          } else if (st instanceof Close) {
            s.close();
            return;
          } else if (st instanceof Hang) {
            while (in.read() >= 0) {
              // until the caller goes
            }
            return;
          }
        }
      }
    } catch (IOException | InterruptedException e) {
      // the caller went away
    }
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
