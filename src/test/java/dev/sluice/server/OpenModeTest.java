package dev.sluice.server;

import static dev.sluice.server.AdmissionHttp.assertError;
import static dev.sluice.server.AdmissionHttp.auth;
import static dev.sluice.server.AdmissionHttp.createKey;
import static dev.sluice.server.AdmissionHttp.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sluice.server.AdmissionHttp.Reply;
import dev.sluice.testing.TestGateway;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/**
 * With no keys the API is open to loopback clients only; the first key closes it. The gateway
 * listens on every interface and the test reaches it through this machine's non-loopback address
 * too, so the gateway sees a remote client.
 */
class OpenModeTest {
  static final String YAML = """
      server: { host: 0.0.0.0, port: 0, event_loops: 1 }
      providers:
        sim: { type: sim, seed: 7 }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast }
      """;

  private static Reply chat(String base, String key) {
    return send(base, "POST", "/v1/chat/completions", TestGateway.chat(null), auth(key));
  }

  @Test
  void openOnLoopbackOnlyUntilTheFirstKey() {
    InetAddress remote = AdmissionHttp.nonLoopbackAddress();
    assumeTrue(remote != null, "this machine has no non-loopback address to connect from");
    try (TestGateway gw = TestGateway.start(YAML)) {
      String local = gw.baseUrl();
      String far = "http://" + remote.getHostAddress() + ":" + gw.gateway().port();

      // no keys: loopback clients need none, and a provider-style key of their own is not judged
      assertThat(chat(local, null).status()).isEqualTo(200);
      assertThat(chat(local, "sk-their-own-openai-key").status()).isEqualTo(200);
      // a remote client is refused, with or without something that looks like a key
      Reply r = chat(far, null);
      assertError(r, 401, "authentication_error", "missing_api_key");
      assertThat(r.json().get("error").get("message").asText()).contains("loopback");
      assertError(chat(far, "sk-their-own-openai-key"), 401, "authentication_error", "invalid_api_key");
      gw.awaitAtRest();
      assertThat(gw.sim().stats().requests()).isEqualTo(2);

      // the first key closes open mode at once, for everyone
      String key = createKey(gw, null, "{\"name\":\"first\"}").get("key").asText();
      assertError(chat(local, null), 401, "authentication_error", "missing_api_key");
      assertError(chat(local, "sk-their-own-openai-key"), 401, "authentication_error", "invalid_api_key");
      assertThat(chat(local, key).status()).isEqualTo(200);
      assertThat(chat(far, key).status()).as("a key works from anywhere").isEqualTo(200);
      gw.awaitAtRest();
      assertThat(gw.sim().stats().requests()).isEqualTo(4);
    }
  }

  @Test
  void revokingTheLastKeyDoesNotReopenTheGateway() {
    try (TestGateway gw = TestGateway.start(YAML)) {
      assertThat(send(gw.baseUrl(), "GET", "/v1/models", null, auth(null)).status()).isEqualTo(200);
      String key = createKey(gw, null, "{\"name\":\"only\"}").get("key").asText();
      assertError(send(gw.baseUrl(), "GET", "/v1/models", null, auth(null)), 401, "authentication_error",
          "missing_api_key");
      assertThat(send(gw.baseUrl(), "GET", "/v1/models", null, auth(key)).status()).isEqualTo(200);
      assertThat(send(gw.baseUrl(), "DELETE", "/admin/keys/only", null, auth(null)).status()).isEqualTo(200);
      assertError(chat(gw.baseUrl(), null), 401, "authentication_error", "missing_api_key");
      assertError(chat(gw.baseUrl(), key), 401, "authentication_error", "revoked_api_key");
      gw.awaitAtRest();
      assertThat(gw.sim().stats().requests()).isZero();
    }
  }

  @Test
  void openWithoutKeysCanBeSwitchedOff() {
    try (TestGateway gw = TestGateway.start(YAML + "admission: { open_without_keys: false }\n")) {
      assertError(chat(gw.baseUrl(), null), 401, "authentication_error", "missing_api_key");
      gw.awaitAtRest();
      assertThat(gw.sim().stats().requests()).isZero();
    }
  }

  /** What open mode trusts is a loopback client talking to it directly, not anyone relayed through it. */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {
      "Host: attacker.example\r\n",                       // DNS rebinding: a web page's name resolved to 127.0.0.1
      "Host: localhost\r\nOrigin: https://attacker.example\r\n", // a cross-site page
      "Host: localhost\r\nX-Forwarded-For: 203.0.113.9\r\n",     // a reverse proxy on this host
      "Host: localhost\r\nForwarded: for=203.0.113.9\r\n",
      "Host: localhost\r\nVia: 1.1 proxy\r\n"})
  void loopbackThatIsNotReallyLocalIsRefused(String headers) throws Exception {
    try (TestGateway gw = TestGateway.start(YAML)) {
      assertThat(rawChat(gw, "Host: localhost:1\r\nOrigin: http://127.0.0.1:3000\r\n")).startsWith("HTTP/1.1 200");
      String refused = rawChat(gw, headers);
      assertThat(refused).startsWith("HTTP/1.1 401").contains("loopback");
      gw.awaitAtRest();
      assertThat(gw.sim().stats().requests()).as("only the genuine local call reached a provider").isEqualTo(1);
    }
  }

  private static String rawChat(TestGateway gw, String headers) throws Exception {
    byte[] body = TestGateway.chat(null).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    try (java.net.Socket s = new java.net.Socket(InetAddress.getLoopbackAddress(), gw.gateway().port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\n" + headers
          + "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " + body.length + "\r\n\r\n")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      s.getOutputStream().write(body);
      s.getOutputStream().flush();
      return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
  }
}
