package dev.sluice.server;

import static dev.sluice.server.AdmissionHttp.assertError;
import static dev.sluice.server.AdmissionHttp.auth;
import static dev.sluice.server.AdmissionHttp.createKey;
import static dev.sluice.server.AdmissionHttp.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.server.AdmissionHttp.Reply;
import dev.sluice.testing.TestGateway;
import java.net.InetAddress;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The admin API: who gets in (the admin key; without one, loopback only), and a clear 4xx in
 * OpenAI's shape for bad input on every endpoint. Both gateways listen on every interface; remote
 * clients are simulated by connecting through this machine's non-loopback address.
 */
class AdminSecurityTest {
  static final String ADMIN = "admin-SECURITY-3f9a1c";
  static final String YAML = """
      server: { host: 0.0.0.0, port: 0, event_loops: 1 }
      providers:
        sim: { type: sim, seed: 7 }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast }
      """;
  /** Every admin endpoint, as METHOD PATH[ BODY]. */
  static final String ENDPOINTS = """
      GET /admin/keys
      POST /admin/keys {"name":"made-by-auth-test"}
      DELETE /admin/keys/nobody
      POST /admin/keys/nobody/revoke
      GET /admin/requests
      GET /admin/requests/export
      GET /admin/stats
      GET /admin/status
      GET /admin/alerts
      POST /admin/alerts/1/ack
      GET /admin/live
      GET /admin/no-such-thing
      """;

  static TestGateway keyed;
  static TestGateway open;
  static String remoteKeyed;
  static String remoteOpen;
  static String clientKey;

  @BeforeAll
  static void start() {
    keyed = TestGateway.start(YAML, Map.of("SLUICE_ADMIN_KEY", ADMIN));
    open = TestGateway.start(YAML);
    InetAddress a = AdmissionHttp.nonLoopbackAddress();
    if (a != null) {
      remoteKeyed = "http://" + a.getHostAddress() + ":" + keyed.gateway().port();
      remoteOpen = "http://" + a.getHostAddress() + ":" + open.gateway().port();
    }
    clientKey = createKey(keyed, ADMIN, "{\"name\":\"a-client\"}").get("key").asText();
  }

  @AfterAll
  static void stop() {
    keyed.close();
    open.close();
  }

  private static Reply call(String base, String endpoint, String... headers) {
    String[] p = endpoint.split(" ", 3);
    return send(base, p[0], p[1], p.length > 2 ? p[2] : null, headers);
  }

  private static void assertNeedsAdminKey(Reply r) {
    assertError(r, 401, "authentication_error", "invalid_admin_key");
    assertThat(r.header("www-authenticate")).hasValue("Bearer");
  }

  @Test
  void withAnAdminKeyEveryEndpointWantsIt() {
    for (String e : ENDPOINTS.strip().split("\n")) {
      assertNeedsAdminKey(call(keyed.baseUrl(), e));
      assertNeedsAdminKey(call(keyed.baseUrl(), e, auth("wrong-" + ADMIN)));
      assertNeedsAdminKey(call(keyed.baseUrl(), e, auth(ADMIN.substring(0, ADMIN.length() - 1))));
      assertNeedsAdminKey(call(keyed.baseUrl(), e, auth(ADMIN + "x")));
      assertNeedsAdminKey(call(keyed.baseUrl(), e, "authorization", "Basic " + ADMIN));
      assertNeedsAdminKey(call(keyed.baseUrl(), e, "authorization", ADMIN));
      assertNeedsAdminKey(call(keyed.baseUrl(), e, auth(clientKey))); // a client key is not an admin key
      String[] p = e.split(" ", 3);
      String sep = p[1].contains("?") ? "&" : "?";
      assertNeedsAdminKey(call(keyed.baseUrl(), p[0] + " " + p[1] + sep + "access_token=nope" + (p.length > 2 ? " " + p[2] : "")));
      assertThat(call(keyed.baseUrl(), e, auth(ADMIN)).status()).as("%s with the key", e).isNotIn(401, 403);
    }
  }

  @Test
  void theAdminKeyInTheUrlIsAcceptedOnlyForTheLiveWebSocket() {
    // browsers cannot set headers on a WebSocket upgrade; anywhere else a key in a URL would end up
    // in proxy logs and browser history, so it is refused there
    assertThat(send(keyed, "GET", "/admin/status?access_token=" + ADMIN, null).status()).isEqualTo(401);
  }

  @Test
  void theLiveViewUpgradesToAWebSocketWithTheKeyOnly() throws Exception {
    String ws = keyed.baseUrl().replace("http://", "ws://") + "/admin/live";
    var socket = AdmissionHttp.HTTP.newWebSocketBuilder().header("authorization", "Bearer " + ADMIN)
        .buildAsync(java.net.URI.create(ws), new java.net.http.WebSocket.Listener() { })
        .get(10, java.util.concurrent.TimeUnit.SECONDS);
    socket.abort();
    var browser = AdmissionHttp.HTTP.newWebSocketBuilder()
        .buildAsync(java.net.URI.create(ws + "?access_token=" + ADMIN), new java.net.http.WebSocket.Listener() { })
        .get(10, java.util.concurrent.TimeUnit.SECONDS);
    browser.abort();
    Throwable refused = org.assertj.core.api.Assertions.catchThrowable(() -> AdmissionHttp.HTTP.newWebSocketBuilder()
        .buildAsync(java.net.URI.create(ws + "?access_token=nope"), new java.net.http.WebSocket.Listener() { })
        .get(10, java.util.concurrent.TimeUnit.SECONDS));
    assertThat(refused).hasCauseInstanceOf(java.net.http.WebSocketHandshakeException.class);
    assertThat(((java.net.http.WebSocketHandshakeException) refused.getCause()).getResponse().statusCode())
        .isEqualTo(401);
  }

  /**
   * A browser can send the key with the upgrade after all: as one of the subprotocols it offers
   * (Sec-WebSocket-Protocol), base64url-encoded, which keeps it out of the URL and so out of proxy
   * logs. The gateway answers with the plain protocol, never echoing the key.
   */
  @Test
  void theLiveViewTakesTheKeyAmongItsSubprotocolsOutOfTheUrl() throws Exception {
    String ws = keyed.baseUrl().replace("http://", "ws://") + "/admin/live";
    var socket = AdmissionHttp.HTTP.newWebSocketBuilder().subprotocols("sluice.live", keyProtocol(ADMIN))
        .buildAsync(java.net.URI.create(ws), new java.net.http.WebSocket.Listener() { })
        .get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(socket.getSubprotocol()).isEqualTo("sluice.live");
    socket.abort();
    for (String wrong : new String[] {keyProtocol("nope"), keyProtocol(ADMIN + "x"), "sluice.key.%%%", "sluice.key."}) {
      Throwable refused = org.assertj.core.api.Assertions.catchThrowable(() -> AdmissionHttp.HTTP.newWebSocketBuilder()
          .subprotocols("sluice.live", wrong)
          .buildAsync(java.net.URI.create(ws), new java.net.http.WebSocket.Listener() { })
          .get(10, java.util.concurrent.TimeUnit.SECONDS));
      assertThat(refused).as(wrong).hasCauseInstanceOf(java.net.http.WebSocketHandshakeException.class);
      assertThat(((java.net.http.WebSocketHandshakeException) refused.getCause()).getResponse().statusCode())
          .as(wrong).isEqualTo(401);
    }
    // only the live view reads it: an ordinary request with the header is still refused
    assertThat(send(keyed, "GET", "/admin/status", null, "sec-websocket-protocol", keyProtocol(ADMIN)).status())
        .isEqualTo(401);
  }

  private static String keyProtocol(String key) {
    return "sluice.key." + java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString(key.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  @Test
  void theAdminKeyOpensTheAdminApiToRemoteClients() {
    assumeTrue(remoteKeyed != null, "this machine has no non-loopback address to connect from");
    for (String e : ENDPOINTS.strip().split("\n")) {
      assertNeedsAdminKey(call(remoteKeyed, e));
      assertThat(call(remoteKeyed, e, auth(ADMIN)).status()).as("%s with the key", e).isNotIn(401, 403);
    }
  }

  @Test
  void withoutAnAdminKeyOnlyLoopbackGetsIn() {
    assumeTrue(remoteOpen != null, "this machine has no non-loopback address to connect from");
    for (String e : ENDPOINTS.strip().split("\n")) {
      assertThat(call(open.baseUrl(), e).status()).as("%s on loopback", e).isNotIn(401, 403);
      JsonNode err = assertError(call(remoteOpen, e), 403, "permission_error", "admin_loopback_only");
      assertThat(err.get("message").asText()).contains("SLUICE_ADMIN_KEY");
      assertError(call(remoteOpen, e, auth("anything")), 403, "permission_error", "admin_loopback_only");
    }
  }

  // ---- bad input ---------------------------------------------------------------------------

  private static JsonNode bad(String endpoint, int status, String code, String param) {
    Reply r = call(keyed.baseUrl(), endpoint, auth(ADMIN));
    JsonNode e = assertError(r, status, "invalid_request_error", code);
    if (param == null) {
      assertThat(e.get("param").isNull()).as("param of %s", r.body()).isTrue();
    } else {
      assertThat(e.get("param").asText()).isEqualTo(param);
    }
    return e;
  }

  @ParameterizedTest(name = "{0} -> {1} {2} {3}")
  @CsvSource(delimiter = '|', nullValues = "NULL", value = {
      "POST /admin/keys                                     | 400 | invalid_json      | NULL",
      "POST /admin/keys {                                   | 400 | invalid_json      | NULL",
      "POST /admin/keys []                                  | 400 | invalid_json      | NULL",
      "POST /admin/keys {\"name\":\"\"}                     | 400 | invalid_value     | name",
      "POST /admin/keys {\"name\":\"a\",\"rpm\":0}          | 400 | invalid_value     | rpm",
      "POST /admin/keys {\"name\":\"a\",\"priority\":\"x\"} | 400 | invalid_value     | priority",
      "POST /admin/keys {\"name\":\"a\",\"models\":5}       | 400 | invalid_type      | models",
      "POST /admin/keys {\"name\":\"a\",\"hash\":\"h\"}     | 400 | unknown_parameter | hash",
      "DELETE /admin/keys/no-such-key                       | 404 | not_found         | id",
      "POST /admin/keys/no-such-key/revoke                  | 404 | not_found         | id",
      "GET /admin/requests?limit=0                          | 400 | invalid_parameter | limit",
      "GET /admin/requests?limit=1001                       | 400 | invalid_parameter | limit",
      "GET /admin/requests?limit=ten                        | 400 | invalid_parameter | limit",
      "GET /admin/requests?since=yesterday                  | 400 | invalid_parameter | since",
      "GET /admin/requests?until=2026-13-45                 | 400 | invalid_parameter | until",
      "GET /admin/requests?outcome=happy                    | 400 | invalid_parameter | outcome",
      "GET /admin/requests?cursor=not-a-cursor              | 400 | invalid_parameter | cursor",
      "GET /admin/requests?colour=red                       | 400 | invalid_parameter | colour",
      "GET /admin/requests/export?limit=5                   | 400 | invalid_parameter | limit",
      "GET /admin/requests/export?cursor=x                  | 400 | invalid_parameter | cursor",
      "GET /admin/stats?window=forever                      | 400 | invalid_parameter | window",
      "GET /admin/stats?window=40d                          | 400 | invalid_parameter | window",
      "GET /admin/stats?size=3                              | 400 | invalid_parameter | size",
      "GET /admin/alerts?severity=loud                      | 400 | invalid_parameter | severity",
      "GET /admin/alerts?acknowledged=maybe                 | 400 | invalid_parameter | acknowledged",
      "GET /admin/alerts?colour=red                         | 400 | invalid_parameter | colour",
      "POST /admin/alerts/abc/ack                           | 400 | invalid_parameter | id",
      "POST /admin/alerts/99999/ack                         | 404 | not_found         | id",
      "GET /admin/live                                      | 400 | invalid_parameter | NULL",
  })
  void badInputOnEveryAdminEndpointIsAClear4xx(String endpoint, int status, String code, String param) {
    bad(endpoint, status, code, param);
  }

  @Test
  void aSecondLiveKeyWithTheSameNameIs409AndARevokedOneIs404() {
    createKey(keyed, ADMIN, "{\"name\":\"twice\"}");
    JsonNode e = bad("POST /admin/keys {\"name\":\"twice\"}", 409, "key_name_taken", "name");
    assertThat(e.get("message").asText()).contains("twice");
    assertThat(call(keyed.baseUrl(), "DELETE /admin/keys/twice", auth(ADMIN)).status()).isEqualTo(200);
    bad("DELETE /admin/keys/twice", 404, "not_found", "id");
    assertThat(createKey(keyed, ADMIN, "{\"name\":\"twice\"}").get("name").asText())
        .as("the name is free again once revoked").isEqualTo("twice");
  }

  /** Too large for the admin API's body limit: a 413 like any other bad input, and no error in the log. */
  @Test
  void anOversizedAdminBodyIs413() {
    ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
        org.slf4j.Logger.ROOT_LOGGER_NAME);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> log =
        new ch.qos.logback.core.read.ListAppender<>();
    log.start();
    root.addAppender(log);
    try {
      String big = "{\"name\":\"" + "n".repeat(70 * 1024) + "\"}";
      Reply r = send(keyed, "POST", "/admin/keys", big, auth(ADMIN));
      assertError(r, 413, "invalid_request_error", "request_too_large");
      assertThat(r.body()).doesNotContain("nnnnnnnn");
    } finally {
      root.detachAppender(log);
    }
    assertThat(log.list).filteredOn(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.ERROR))
        .as("a client's oversized body is not a gateway error").isEmpty();
  }

  @Test
  void aMethodTheAdminApiDoesNotHaveIsA4xx() {
    Reply r = send(keyed, "PUT", "/admin/keys", "{\"name\":\"x\"}", auth(ADMIN));
    assertThat(r.status()).isBetween(400, 499);
    assertThat(r.json().get("error").get("code").asText()).isNotBlank();
  }
}
