package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.admission.KeyHash;
import dev.sluice.config.ConfigLoader;
import dev.sluice.server.Gateway;
import dev.sluice.testing.TestGateway;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code sluice keys create|list|revoke}, in process, against a temporary data directory. */
class KeysCommandTest {
  @TempDir
  Path dir;

  record Run(int code, String out, String err) {}

  private Run sluice(String... args) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
    try {
      List<String> all = new ArrayList<>(List.of(args));
      all.add("--data-dir");
      all.add(dir.toString());
      int code = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(all.toArray(String[]::new));
      return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
  }

  private String create(String... args) {
    List<String> all = new ArrayList<>(List.of("keys", "create"));
    all.addAll(List.of(args));
    Run r = sluice(all.toArray(String[]::new));
    assertThat(r.code()).as("%s", r).isZero();
    String secret = r.out().strip();
    assertThat(secret).as("stdout is the key alone").matches("sk-sluice-[A-Za-z0-9]{32}");
    return secret;
  }

  private String digestIn(String name) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("sluice.db"));
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT key_hash FROM api_keys WHERE name = '" + name + "'")) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  @Test
  void createPrintsTheKeyOnceListShowsNoSecretsRevokeByName() throws Exception {
    Run made = sluice("keys", "create", "--name", "app1", "--models", "demo,gpt-4o", "--rpm", "600", "--tpm",
        "200000", "--max-concurrency", "20", "--priority", "high", "--max-tokens", "4096");
    assertThat(made.code()).isZero();
    String secret = made.out().strip();
    assertThat(secret).matches("sk-sluice-[A-Za-z0-9]{32}");
    assertThat(made.err()).contains("created key key_").contains("app1").contains("only time").doesNotContain(secret);
    assertThat(digestIn("app1")).isEqualTo(KeyHash.sha256Hex(secret));

    Run list = sluice("keys", "list");
    assertThat(list.code()).isZero();
    assertThat(list.out()).contains("ID", "NAME", "PREFIX", "STATE");
    String row = list.out().lines().filter(l -> l.contains("app1")).findFirst().orElseThrow();
    assertThat(row).contains(KeyHash.displayPrefix(secret), "600", "200000", "20", "high", "live");
    String[] cols = row.trim().split("\\s+");
    assertThat(cols[cols.length - 1].split(",")).as("models, in any order").containsExactlyInAnyOrder("demo", "gpt-4o");
    assertThat(list.out() + list.err()).doesNotContain(secret).doesNotContain(KeyHash.sha256Hex(secret));

    Run revoked = sluice("keys", "revoke", "app1");
    assertThat(revoked.code()).isZero();
    assertThat(revoked.out()).startsWith("revoked key_").contains("(app1)");
    assertThat(sluice("keys", "list").out().lines().filter(l -> l.contains("app1")).findFirst().orElseThrow())
        .contains("revoked");
    Run again = sluice("keys", "revoke", "app1");
    assertThat(again.code()).isEqualTo(1);
    assertThat(again.err()).contains("no live key");

    String second = create("--name", "app1");
    assertThat(second).as("the name is free again, with a new key").isNotEqualTo(secret);
    assertThat(sluice("keys", "list").out().lines().filter(l -> l.contains("app1")).count()).isEqualTo(2);
  }

  @Test
  void revokeTakesAnIdToo() {
    create("--name", "by-id");
    String row = sluice("keys", "list").out().lines().filter(l -> l.contains("by-id")).findFirst().orElseThrow();
    String id = row.split("\\s+")[0];
    assertThat(id).startsWith("key_");
    assertThat(sluice("keys", "revoke", id).code()).isZero();
  }

  @Test
  void aDuplicateNameIsRefused() {
    create("--name", "twice");
    Run r = sluice("keys", "create", "--name", "twice");
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).contains("a live key named 'twice' exists");
    assertThat(r.out()).as("no key printed").isBlank();
  }

  @Test
  void badOptionsAreRefusedAndStoreNothing() {
    for (String[] args : List.of(
        new String[] {"keys", "create", "--name", "a", "--priority", "urgent"},
        new String[] {"keys", "create", "--name", "a", "--rpm", "0"},
        new String[] {"keys", "create", "--name", "a", "--tpm", "-5"},
        new String[] {"keys", "create", "--name", "a", "--max-concurrency", "0"},
        new String[] {"keys", "create", "--name", "a", "--max-tokens", "0"},
        new String[] {"keys", "create", "--name", "a", "--rpm", "lots"},
        // beyond what POST /admin/keys accepts (and what a token bucket can refill)
        new String[] {"keys", "create", "--name", "a", "--rpm", "100000000000"},
        new String[] {"keys", "create", "--name", "a", "--tpm", "2147483648"},
        // an empty list (an unset variable in a script) must not grant every model
        new String[] {"keys", "create", "--name", "a", "--models", ""},
        new String[] {"keys", "create", "--name", "a", "--models", " , "},
        new String[] {"keys", "create", "--name", ""},
        new String[] {"keys", "create", "--name", "   "},
        new String[] {"keys", "create", "--name", "n".repeat(101)},
        new String[] {"keys", "create", "--name", "ops\u0007bot"},
        new String[] {"keys", "create", "--name", "key_abcdefabcdef"},
        new String[] {"keys", "create"},
        new String[] {"keys", "revoke"})) {
      Run r = sluice(args);
      assertThat(r.code()).as("%s", String.join(" ", args)).isEqualTo(2);
      assertThat(r.out()).as("no key printed for %s", String.join(" ", args)).doesNotContain("sk-sluice-");
      assertThat(r.err()).isNotBlank();
    }
    assertThat(sluice("keys", "list").out().lines().count()).as("the header only").isEqualTo(1);
  }

  /** A running gateway on the same store sees keys made and revoked on the command line within seconds. */
  @Test
  void aRunningGatewaySeesCommandLineChanges() throws Exception {
    Files.createDirectories(dir);
    Gateway gw = Gateway.start(new ConfigLoader(java.util.Map.of()).loadText(TestGateway.SIMPLE, "test"),
        new Gateway.Options(dir, null));
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    try {
      assertThat(chat(http, gw, null)).as("open: no keys yet").isEqualTo(200);
      String key = create("--name", "from-cli");
      await().atMost(Duration.ofSeconds(15)).until(() -> chat(http, gw, null) == 401);
      assertThat(chat(http, gw, key)).isEqualTo(200);
      assertThat(sluice("keys", "revoke", "from-cli").code()).isZero();
      await().atMost(Duration.ofSeconds(15)).until(() -> chat(http, gw, key) == 401);
    } finally {
      gw.close();
    }
  }

  /** A typo in --models is told at once (the key is still made: the gateway's configuration may differ). */
  @Test
  void aModelTheConfigurationDoesNotServeIsWarnedOf() {
    Run r = sluice("keys", "create", "--name", "typo", "--models", "demo,dmeo");
    assertThat(r.code()).isZero();
    assertThat(r.out().strip()).matches("sk-sluice-[A-Za-z0-9]{32}");
    assertThat(r.err()).contains("warning: model 'dmeo' is not served").doesNotContain("model 'demo'");
    Run ok = sluice("keys", "create", "--name", "fine", "--models", "demo");
    assertThat(ok.err()).doesNotContain("warning");
  }

  /** {@code --models "other, demo"}, as people type lists, grants demo (not a model named " demo"). */
  @Test
  void spacesAroundModelNamesAreNotPartOfTheNames() throws Exception {
    String key = create("--name", "spaced", "--models", "other, demo");
    String row = sluice("keys", "list").out().lines().filter(l -> l.contains("spaced")).findFirst().orElseThrow();
    String[] cols = row.trim().split("\\s+");
    assertThat(cols[cols.length - 1].split(",")).as("models, in any order").containsExactlyInAnyOrder("demo", "other");
    Gateway gw = Gateway.start(new ConfigLoader(java.util.Map.of()).loadText(TestGateway.SIMPLE, "test"),
        new Gateway.Options(dir, null));
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    try {
      assertThat(chat(http, gw, key)).isEqualTo(200);
    } finally {
      gw.close();
    }
  }

  /**
   * A key whose rate is beyond what a token bucket can refill (1 per nanosecond; earlier versions of
   * {@code keys create} stored such keys) is served as one without that limit, not left hanging.
   */
  @Test
  void aKeyWithAnAbsurdRateIsServedNotLeftHanging() throws Exception {
    String secret = "sk-sluice-" + "A".repeat(32);
    try (dev.sluice.store.Database db = dev.sluice.store.Database.open(
        new ConfigLoader(java.util.Map.of()).loadText(TestGateway.SIMPLE, "test").store(), dir)) {
      new dev.sluice.store.KeyStore(db).insert(new dev.sluice.admission.ApiKey("key_absurd", "absurd",
          KeyHash.sha256Hex(secret), KeyHash.displayPrefix(secret), java.util.Set.of(), 100_000_000_000L,
          100_000_000_000L, -1, dev.sluice.admission.Priority.NORMAL, -1, 1, -1));
    }
    Gateway gw = Gateway.start(new ConfigLoader(java.util.Map.of()).loadText(TestGateway.SIMPLE, "test"),
        new Gateway.Options(dir, null));
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
          .header("content-type", "application/json").header("authorization", "Bearer " + secret)
          .timeout(Duration.ofSeconds(20))
          .POST(HttpRequest.BodyPublishers.ofString(TestGateway.chat(null))).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    } finally {
      gw.close();
    }
  }

  private static int chat(HttpClient http, Gateway gw, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(TestGateway.chat(null)));
    if (key != null) {
      b.header("authorization", "Bearer " + key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }
}
