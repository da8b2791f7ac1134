package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.TestGateway;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * DNS rebinding with a name that merely starts with "127.": a page served from
 * http://127.rebind.attacker.example:PORT has its name re-pointed to 127.0.0.1, so the gateway sees a
 * loopback peer with that Host (and that Origin on a POST). Without an admin key, only loopback
 * names may reach the admin API and open-mode chat: a 127.x address literal, not such a name.
 */
class AdminRebindingTest {
  private static String raw(TestGateway gw, String method, String path, String headers, String body) throws Exception {
    byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), gw.gateway().port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write((method + " " + path + " HTTP/1.1\r\n" + headers
          + "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " + b.length + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().write(b);
      s.getOutputStream().flush();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void aNameThatStartsWith127IsNotLoopback() throws Exception {
    try (TestGateway gw = TestGateway.start(TestGateway.SIMPLE)) {
      String host = "127.rebind.attacker.example";
      int port = gw.gateway().port();
      assertThat(raw(gw, "GET", "/admin/requests", "Host: attacker.example:" + port + "\r\n", null))
          .startsWith("HTTP/1.1 403");
      assertThat(raw(gw, "GET", "/admin/requests", "Host: " + host + ":" + port + "\r\n", null))
          .as("request log read through a rebinding name").startsWith("HTTP/1.1 403");
      assertThat(raw(gw, "POST", "/admin/keys", "Host: " + host + ":" + port + "\r\nOrigin: http://" + host + ":"
          + port + "\r\n", "{\"name\":\"stolen\"}")).as("key minted through a rebinding name").startsWith("HTTP/1.1 403");
      assertThat(raw(gw, "POST", "/v1/chat/completions", "Host: " + host + ":" + port + "\r\n", TestGateway.chat(null)))
          .as("open-mode chat through a rebinding name").startsWith("HTTP/1.1 401");
      // the address literal itself still is loopback
      assertThat(raw(gw, "GET", "/admin/requests", "Host: 127.0.0.1:" + port + "\r\n", null))
          .startsWith("HTTP/1.1 200");
    }
  }
}
