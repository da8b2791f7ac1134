package dev.sluice.server;

import static dev.sluice.server.AdmissionHttp.auth;
import static dev.sluice.server.AdmissionHttp.createKey;
import static dev.sluice.server.AdmissionHttp.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.admission.KeyHash;
import dev.sluice.server.AdmissionHttp.Reply;
import dev.sluice.testing.TestGateway;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Where a virtual key's secret may appear: in the response that creates it, and nowhere else — not
 * in key lists, request records, error bodies, headers, metrics, logs or the database (which holds
 * only its SHA-256). Provider API keys and the admin key appear nowhere either, on any path,
 * including every error path a client can provoke.
 */
class SecretLeakTest {
  static final String ADMIN = "admin-LEAKTEST-7c1e55";
  static final String SIM_KEY = "sk-provider-SIMSECRET-91be";
  static final String DEAD_KEY = "sk-provider-DEADSECRET-42fa";
  static final String YAML = """
      server: { port: 0, event_loops: 1, max_body_size: 8KiB }
      providers:
        sim: { type: sim, seed: 7, api_key: "%s" }
        dead: { type: openai, base_url: "http://127.0.0.1:9/v1", api_key: "%s" }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast }
        other:
          deployments:
            - { id: sim-b, provider: sim, model: sim-fast }
        down:
          deployments:
            - { id: dead-a, provider: dead, model: gpt-4o }
      """.formatted(SIM_KEY, DEAD_KEY);

  private static String chatBody(String model, String extra) {
    return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]"
        + (extra == null ? "" : "," + extra) + "}";
  }

  @Test
  void secretsAppearOnlyWhereTheyMust() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Level level = root.getLevel();
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    root.addAppender(log);
    root.setLevel(Level.DEBUG);
    List<String> secrets = new ArrayList<>(List.of(ADMIN, SIM_KEY, DEAD_KEY));
    try (TestGateway gw = TestGateway.start(YAML, Map.of("SLUICE_ADMIN_KEY", ADMIN))) {
      Reply created = send(gw, "POST", "/admin/keys",
          "{\"name\":\"leaky\",\"models\":[\"demo\",\"down\"],\"max_tokens\":1000}", auth(ADMIN));
      assertThat(created.status()).isEqualTo(201);
      JsonNode k = created.json();
      String secret = k.get("key").asText();
      assertThat(secret).startsWith("sk-sluice-");
      assertThat(created.body().split(java.util.regex.Pattern.quote(secret), -1)).as("shown exactly once").hasSize(2);
      String limited = createKey(gw, ADMIN, "{\"name\":\"limited\",\"rpm\":1}").get("key").asText();
      JsonNode gone = createKey(gw, ADMIN, "{\"name\":\"gone\"}");
      String revoked = gone.get("key").asText();
      assertThat(send(gw, "DELETE", "/admin/keys/gone", null, auth(ADMIN)).status()).isEqualTo(200);
      secrets.addAll(List.of(secret, limited, revoked));
      List<String> digests = Stream.of(secret, limited, revoked).map(KeyHash::sha256Hex).toList();

      // every way a client can be answered, with the key and near misses of it
      List<Reply> replies = new ArrayList<>();
      String[] key = auth(secret);
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("demo", null), key));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("demo", "\"stream\":true"), key));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("other", null), key));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("nope", null), key));
      replies.add(send(gw, "POST", "/v1/chat/completions", "{\"model\":", key));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("demo", "\"max_tokens\":2000"), key));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("demo", "\"pad\":\"" + "x".repeat(9000) + "\""), key));
      replies.add(send(gw, "POST", "/v1/chat/completions",
          chatBody("demo", "\"sim\":{\"error_rate\":1,\"error_statuses\":[500]}"), key));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("demo", "\"sim\":{\"rate_limit_rate\":1}"), key));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("demo", "\"sim\":{\"hang_before_headers\":1}"),
          auth(secret, "x-request-timeout", "400ms")));
      replies.add(send(gw, "POST", "/v1/chat/completions",
          chatBody("demo", "\"stream\":true,\"sim\":{\"reset_mid_stream\":1}"), key));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("down", null), key));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("demo", null), auth(secret + "zz")));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("demo", null), auth(secret.toUpperCase())));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("demo", null), auth(revoked)));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("demo", null), auth(limited)));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("demo", null), auth(limited)));
      replies.add(send(gw, "POST", "/v1/chat/completions", chatBody("demo", null)));
      replies.add(send(gw, "POST", "/v1/embeddings", "{\"model\":\"demo\",\"input\":\"x\"}", key));
      replies.add(send(gw, "GET", "/v1/chat/completions", null, key));
      replies.add(send(gw, "GET", "/v1/models", null, key));
      replies.add(send(gw, "GET", "/health", null, key));
      replies.add(send(gw, "GET", "/version", null, key));
      replies.add(send(gw, "GET", "/metrics", null));
      replies.add(send(gw, "GET", "/admin/keys", null, auth(secret)));
      replies.add(send(gw, "GET", "/admin/keys", null, auth(ADMIN + "x")));
      assertThat(replies).extracting(Reply::status)
          .as("the paths were really taken")
          .contains(200, 401, 403, 404, 400, 413, 429, 500, 502, 504, 405);
      gw.awaitAtRest();

      // what an operator sees
      Reply list = send(gw, "GET", "/admin/keys", null, auth(ADMIN));
      assertThat(list.status()).isEqualTo(200);
      assertThat(list.body()).contains(k.get("id").asText(), k.get("prefix").asText());
      for (String d : digests) {
        assertThat(list.body()).doesNotContain(d);
      }
      replies.add(list);
      int answered = replies.size();
      long inference = replies.stream().filter(r -> r.header("x-request-id").isPresent()).count();
      assertThat(inference).as("requests to /v1 that the gateway records").isGreaterThanOrEqualTo(19);
      await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(
          send(gw, "GET", "/admin/requests?limit=1000", null, auth(ADMIN)).json().get("data").size())
          .isGreaterThanOrEqualTo((int) inference));
      Reply records = send(gw, "GET", "/admin/requests?limit=1000", null, auth(ADMIN));
      assertThat(records.body()).as("records name the key by id").contains(k.get("id").asText());
      replies.add(records);
      replies.add(send(gw, "GET", "/admin/requests/export", null, auth(ADMIN)));
      replies.add(send(gw, "GET", "/admin/stats", null, auth(ADMIN)));
      replies.add(send(gw, "GET", "/admin/status", null, auth(ADMIN)));
      replies.add(send(gw, "GET", "/admin/alerts", null, auth(ADMIN)));
      replies.add(send(gw, "GET", "/metrics", null));
      assertThat(replies.size()).isGreaterThan(answered);

      for (Reply r : replies) {
        for (String s : secrets) {
          assertThat(r.everything()).as("a response").doesNotContain(s);
        }
        for (String d : digests) {
          assertThat(r.everything()).as("a response").doesNotContain(d);
        }
      }

      // the database holds the digest and the display prefix, never the key
      String description = gw.gateway().services().observability().database().description();
      Path db = Path.of(description.substring("sqlite:".length()));
      try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
        try (PreparedStatement ps = c.prepareStatement("SELECT key_hash, key_prefix FROM api_keys WHERE id = ?")) {
          ps.setString(1, k.get("id").asText());
          try (ResultSet rs = ps.executeQuery()) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString("key_hash")).isEqualTo(KeyHash.sha256Hex(secret));
            assertThat(rs.getString("key_prefix")).isEqualTo(KeyHash.displayPrefix(secret));
          }
        }
        List<String> tables = new ArrayList<>();
        try (Statement st = c.createStatement();
            ResultSet rs = st.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table'")) {
          while (rs.next()) {
            tables.add(rs.getString(1));
          }
        }
        assertThat(tables).contains("api_keys");
        for (String t : tables) {
          try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT * FROM \"" + t + "\"")) {
            while (rs.next()) {
              for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                String v = rs.getString(i);
                for (String s : secrets) {
                  assertThat(v == null ? "" : v).as("%s.%s", t, rs.getMetaData().getColumnName(i)).doesNotContain(s);
                }
              }
            }
          }
        }
      }
      try (Stream<Path> files = Files.list(db.getParent())) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          String bytes = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
          for (String s : secrets) {
            assertThat(bytes).as("the bytes of %s", f.getFileName()).doesNotContain(s);
          }
        }
      }
    } finally {
      root.setLevel(level);
      root.detachAppender(log);
    }

    assertThat(log.list).as("something was logged at all").isNotEmpty();
    for (ILoggingEvent e : log.list) {
      String text = e.getFormattedMessage() + (e.getThrowableProxy() == null ? ""
          : ThrowableProxyUtil.asString(e.getThrowableProxy()));
      for (String s : secrets) {
        assertThat(text).as("log line from %s", e.getLoggerName()).doesNotContain(s);
      }
    }
  }
}
