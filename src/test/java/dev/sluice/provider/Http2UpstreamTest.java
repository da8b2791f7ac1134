package dev.sluice.provider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.testing.TestGateway;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A provider reached over HTTP/2 (cleartext, prior knowledge): answers, streams and cancellation still work. */
class Http2UpstreamTest {
  static TestGateway gw;

  @BeforeAll
  static void start() {
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        store: { url: none }
        providers:
          sim: { type: sim, http2: true }
        models:
          demo: { deployments: [{ provider: sim, model: m }] }
        """);
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  @Test
  void answersAndStreamsOverMultiplexedConnections() {
    HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat(null));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(gw.sim().lastHttpVersion()).isEqualTo("HTTP_2");
    HttpResponse<String> s = gw.post("/v1/chat/completions", TestGateway.chat("\"stream\":true"));
    assertThat(s.statusCode()).isEqualTo(200);
    assertThat(s.body().strip()).endsWith("data: [DONE]");
    gw.awaitAtRest();
  }

  @Test
  void aClientThatLeavesResetsItsUpstreamStream() throws Exception {
    long aborted = gw.sim().stats().abortedByCaller();
    String body = TestGateway.chat("\"stream\":true,\"max_tokens\":500,\"sim\":{\"tokens_per_second\":20}");
    URI u = URI.create(gw.baseUrl());
    try (Socket sock = new Socket(u.getHost(), u.getPort())) {
      sock.setSoTimeout(10_000);
      OutputStream out = sock.getOutputStream();
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
          + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
      out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(sock.getInputStream(), StandardCharsets.UTF_8));
      int tokens = 0;
      String line;
      while ((line = in.readLine()) != null && tokens < 3) {
        if (line.startsWith("data: {")) {
          tokens++;
        }
      }
      assertThat(tokens).isEqualTo(3);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> gw.sim().stats().abortedByCaller() > aborted);
    gw.awaitAtRest();
  }
}
