package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.TestGateway;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Admin parameters that once got a wrong answer get a 400 in OpenAI's shape: a malformed query
 * (was a plain-text 500), a negative time bound (was taken for "no bound": until=-7 returned every
 * row), and a NUL in a filter (PostgreSQL refuses it: was answered as a store outage).
 */
class AdminParamsTest {
  static TestGateway gw;

  @BeforeAll
  static void start() {
    gw = TestGateway.start(TestGateway.SIMPLE);
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  private static String raw(String path) throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), gw.gateway().port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"/admin/stats?window=%ZZ", "/admin/requests?until=-7", "/admin/requests?since=-5",
      "/admin/requests/export?until=-7", "/admin/requests?since=1960-01-01T00:00:00Z", "/admin/requests?model=%00",
      "/admin/requests?provider=a%00b", "/admin/requests/export?key=%00"})
  void isA400InOpenAiShape(String path) throws Exception {
    assertThat(raw(path)).startsWith("HTTP/1.1 400").contains("\"type\":\"invalid_request_error\"");
  }
}
