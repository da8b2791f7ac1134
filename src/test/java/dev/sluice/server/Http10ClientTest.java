package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.AtRest;
import dev.sluice.testing.TestGateway;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An HTTP/1.0 client has no chunked coding: a stream's end is the end of the connection. The
 * gateway must close it when the stream ends, also when the client asked to keep it alive
 * (otherwise the client, e.g. {@code ab -k} or an HTTP/1.0 proxy, never sees the end).
 */
class Http10ClientTest {
  static TestGateway gw;

  @BeforeAll
  static void start() {
    gw = TestGateway.start(TestGateway.SIMPLE);
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  @AfterEach
  void atRest() {
    AtRest.check(gw);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"Connection: keep-alive", "X-Nothing: 1"})
  void aStreamToAnHttp10ClientEndsWithTheConnection(String header) throws Exception {
    String body = TestGateway.chat("\"stream\":true");
    int port = Integer.parseInt(gw.baseUrl().substring(gw.baseUrl().lastIndexOf(':') + 1));
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.0\r\nHost: 127.0.0.1\r\n"
          + "Content-Type: application/json\r\n" + header + "\r\nContent-Length: "
          + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[8192];
      try {
        for (int n; (n = in.read(buf)) > 0; ) {
          all.write(buf, 0, n);
        }
      } catch (SocketTimeoutException e) {
        throw new AssertionError("the stream never ended; got so far:\n" + all.toString(StandardCharsets.UTF_8), e);
      }
      String text = all.toString(StandardCharsets.UTF_8);
      assertThat(text).startsWith("HTTP/1.0 200").doesNotContainIgnoringCase("transfer-encoding: chunked")
          .contains("data: [DONE]");
    }
  }
}
