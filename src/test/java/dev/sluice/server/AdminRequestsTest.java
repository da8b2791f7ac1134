package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import dev.sluice.testing.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The request log as an operator reaches it, over real HTTP against a real gateway (SQLite in a
 * temporary data directory): traffic of two models, two providers, two keys and several outcomes,
 * then {@code /admin/requests} with every filter and cursors, {@code /admin/requests/export} as
 * NDJSON, {@code /admin/stats} against what was sent, bad parameters, and the admin key.
 */
class AdminRequestsTest {
  private static final String YAML = """
      server: { port: 0, event_loops: 1 }
      providers:
        sim: { type: sim, seed: 7 }
        alt: { type: sim, seed: 9 }
      resilience:
        retry: { max_attempts: 1 }
        breaker: { enabled: false }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast }
        other:
          deployments:
            - { id: alt-b, provider: alt, model: sim-fast }
      """;
  private static final String FAIL = "\"sim\":{\"error_rate\":1,\"error_statuses\":[503]}";

  private static TestGateway gw;
  private static String aliceKey;
  private static String aliceId;
  private static String bobKey;
  private static String bobId;
  /** Request ids the gateway gave, oldest first. */
  private static final List<String> sent = new ArrayList<>();
  private static List<JsonObject> all;

  @BeforeAll
  static void traffic() {
    gw = TestGateway.start(YAML);
    JsonObject alice = new JsonObject(gw.post("/admin/keys", "{\"name\":\"alice\"}").body());
    JsonObject bob = new JsonObject(gw.post("/admin/keys", "{\"name\":\"bob\"}").body());
    aliceKey = alice.getString("key");
    aliceId = alice.getString("id");
    bobKey = bob.getString("key");
    bobId = bob.getString("id");
    assertThat(aliceId).isNotEqualTo(bobId);

    // alice: demo on sim, 8 successes and 4 provider errors (503, not retried)
    for (int i = 0; i < 12; i++) {
      chat(aliceKey, "demo", i % 3 == 2 ? FAIL : null, 200, 503);
    }
    // bob: other on alt, 5 successes, 2 errors, 1 successful stream
    for (int i = 0; i < 7; i++) {
      chat(bobKey, "other", i % 3 == 2 ? FAIL : null, 200, 503);
    }
    chat(bobKey, "other", "\"stream\":true,\"stream_options\":{\"include_usage\":true}", 200, 200);
    // alice asks for a model that does not exist: refused before routing
    chat(aliceKey, "nope", null, 404, 404);

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      JsonObject log = json(get("/admin/status")).getJsonObject("request_log");
      assertThat(log.getLong("written")).isEqualTo(21);
      assertThat(log.getLong("pending")).isZero();
    });
    all = rows(json(get("/admin/requests?limit=1000")));
    assertThat(all).hasSize(21);
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  private static void chat(String key, String model, String extra, int okStatus, int failStatus) {
    String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]"
        + (extra == null ? "" : "," + extra) + "}";
    HttpResponse<String> r = gw.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
        .header("content-type", "application/json").header("authorization", "Bearer " + key)
        .POST(HttpRequest.BodyPublishers.ofString(body)));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(extra != null && extra.equals(FAIL) ? failStatus : okStatus);
    sent.add(r.headers().firstValue("x-request-id").orElseThrow());
  }

  private static HttpResponse<String> get(String pathAndQuery) {
    return gw.get(pathAndQuery);
  }

  private static JsonObject json(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    return new JsonObject(r.body());
  }

  private static List<JsonObject> rows(JsonObject page) {
    JsonArray data = page.getJsonArray("data");
    List<JsonObject> out = new ArrayList<>();
    for (int i = 0; i < data.size(); i++) {
      out.add(data.getJsonObject(i));
    }
    return out;
  }

  private static List<String> ids(List<JsonObject> rows) {
    return rows.stream().map(r -> r.getString("request_id")).toList();
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** Every page of a query, following next_cursor with the same filters. */
  private static List<JsonObject> walk(String query, int limit) {
    List<JsonObject> out = new ArrayList<>();
    Set<String> cursors = new HashSet<>();
    String cursor = null;
    do {
      JsonObject page = json(get("/admin/requests?" + query + (query.isEmpty() ? "" : "&") + "limit=" + limit
          + (cursor == null ? "" : "&cursor=" + enc(cursor))));
      List<JsonObject> rows = rows(page);
      assertThat(rows.size()).isLessThanOrEqualTo(limit);
      out.addAll(rows);
      cursor = page.getString("next_cursor");
      assertThat(page.getBoolean("has_more")).isEqualTo(cursor != null);
      if (cursor != null) {
        assertThat(rows).hasSize(limit);
        assertThat(cursors.add(cursor)).isTrue();
      }
    } while (cursor != null);
    return out;
  }

  @Test
  void everyRequestIsListedOnceNewestFirstWithWhatHappened() {
    List<String> newestFirst = new ArrayList<>(sent);
    Collections.reverse(newestFirst);
    assertThat(ids(all)).containsExactlyElementsOf(newestFirst);
    for (int i = 1; i < all.size(); i++) {
      assertThat(all.get(i).getLong("id")).isLessThan(all.get(i - 1).getLong("id"));
      assertThat(all.get(i).getLong("ts")).isLessThanOrEqualTo(all.get(i - 1).getLong("ts"));
    }
    JsonObject page = json(get("/admin/requests"));
    assertThat(page.getString("object")).isEqualTo("list");
    assertThat(page.getBoolean("has_more")).isFalse();
    assertThat(page.getValue("next_cursor")).isNull();

    JsonObject failed = all.stream().filter(r -> r.getString("outcome").equals("upstream_error")).findFirst()
        .orElseThrow();
    assertThat(failed.getInteger("status")).isEqualTo(503);
    assertThat(failed.getString("error_type")).isEqualTo("upstream_status_503");
    assertThat(failed.getInteger("attempts")).isEqualTo(1);
    assertThat(failed.getString("deployment")).isIn("sim-a", "alt-b");

    JsonObject stream = all.get(1); // the stream was the second-to-last request
    assertThat(stream.getBoolean("stream")).isTrue();
    assertThat(stream.getString("outcome")).isEqualTo("success");
    assertThat(stream.getDouble("first_token_ms")).isPositive().isLessThanOrEqualTo(stream.getDouble("latency_ms"));
    assertThat(stream.getString("key_id")).isEqualTo(bobId);
    assertThat(stream.getString("provider")).isEqualTo("alt");
    assertThat(stream.getString("deployment")).isEqualTo("alt-b");
    assertThat(stream.getString("endpoint")).isNotBlank();
    assertThat(stream.getInteger("completion_tokens")).isPositive(); // asked for with include_usage
    assertThat(stream.getInteger("prompt_tokens")).isPositive();

    JsonObject refused = all.get(0);
    assertThat(refused.getString("model")).isEqualTo("nope");
    assertThat(refused.getString("outcome")).isEqualTo("rejected");
    assertThat(refused.getInteger("status")).isEqualTo(404);
    assertThat(refused.getValue("provider")).isNull();
    assertThat(refused.getString("key_id")).isEqualTo(aliceId);
  }

  @Test
  void everyFilterOverHttp() {
    assertThat(walk("model=demo", 100)).hasSize(12).allSatisfy(r -> assertThat(r.getString("model")).isEqualTo("demo"));
    assertThat(walk("provider=alt", 100)).hasSize(8)
        .allSatisfy(r -> assertThat(r.getString("provider")).isEqualTo("alt"));
    assertThat(walk("key=" + bobId, 100)).hasSize(8)
        .allSatisfy(r -> assertThat(r.getString("key_id")).isEqualTo(bobId));
    assertThat(walk("key=" + aliceId, 100)).hasSize(13);
    assertThat(walk("outcome=upstream_error", 100)).hasSize(6)
        .allSatisfy(r -> assertThat(r.getInteger("status")).isEqualTo(503));
    assertThat(walk("outcome=rejected", 100)).extracting(r -> r.getString("model")).containsExactly("nope");
    assertThat(walk("outcome=timeout", 100)).isEmpty();
    assertThat(walk("model=demo&outcome=success&key=" + aliceId, 100)).hasSize(8);
    assertThat(walk("model=unknown-model", 100)).isEmpty();

    // time range: since is inclusive, until exclusive, as epoch milliseconds or ISO-8601
    long pivot = all.get(10).getLong("ts");
    List<String> fromPivot = ids(all.stream().filter(r -> r.getLong("ts") >= pivot).toList());
    List<String> beforePivot = ids(all.stream().filter(r -> r.getLong("ts") < pivot).toList());
    assertThat(fromPivot).isNotEmpty();
    assertThat(beforePivot).isNotEmpty();
    assertThat(ids(walk("since=" + pivot, 100))).containsExactlyElementsOf(fromPivot);
    assertThat(ids(walk("since=" + enc(Instant.ofEpochMilli(pivot).toString()), 100)))
        .containsExactlyElementsOf(fromPivot);
    assertThat(ids(walk("until=" + pivot, 100))).containsExactlyElementsOf(beforePivot);
    assertThat(ids(walk("until=" + enc(Instant.ofEpochMilli(pivot).toString()), 100)))
        .containsExactlyElementsOf(beforePivot);
    assertThat(ids(walk("since=" + pivot + "&until=" + (pivot + 1), 100)))
        .containsExactlyElementsOf(ids(all.stream().filter(r -> r.getLong("ts") == pivot).toList()));
  }

  @Test
  void cursorsWalkEveryPageWithTheFiltersKept() {
    assertThat(ids(walk("", 4))).containsExactlyElementsOf(ids(all));
    assertThat(ids(walk("", 1))).containsExactlyElementsOf(ids(all));
    assertThat(ids(walk("", 21))).containsExactlyElementsOf(ids(all));
    assertThat(ids(walk("model=demo", 5)))
        .containsExactlyElementsOf(ids(all.stream().filter(r -> "demo".equals(r.getString("model"))).toList()));
    assertThat(ids(walk("outcome=success&provider=alt", 2))).hasSize(6);
  }

  @ParameterizedTest(name = "{0} -> 400 on {1}")
  @CsvSource(delimiter = '|', value = {
      "/admin/requests?cursor=not-a-cursor | cursor",
      "/admin/requests?cursor=eDEy | cursor", // base64 of "x12": decodes, but is not one of ours
      "/admin/requests?cursor=cjA | cursor", // "r0": no row has id 0
      "/admin/requests?cursor= | cursor",
      "/admin/requests?foo=1 | foo",
      "/admin/requests?model=demo&bogus=x | bogus",
      "/admin/requests?outcome=great | outcome",
      "/admin/requests?outcome=SUCCESS | outcome",
      "/admin/requests?limit=0 | limit",
      "/admin/requests?limit=1001 | limit",
      "/admin/requests?limit=-1 | limit",
      "/admin/requests?limit=ten | limit",
      "/admin/requests?since=yesterday | since",
      "/admin/requests?since=2026-13-01T00:00:00Z | since",
      "/admin/requests?until=soon | until",
      "/admin/requests/export?cursor=cjE | cursor",
      "/admin/requests/export?limit=10 | limit",
      "/admin/requests/export?outcome=nope | outcome",
      "/admin/requests/export?since=x | since",
      "/admin/stats?window=forever | window",
      "/admin/stats?window=0 | window",
      "/admin/stats?window=-5m | window",
      "/admin/stats?window=745h | window",
      "/admin/stats?window= | window",
      "/admin/stats?model=demo | model",
  })
  void badParametersAreRefusedNamingTheParameter(String path, String param) {
    HttpResponse<String> r = get(path);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    JsonObject error = new JsonObject(r.body()).getJsonObject("error");
    assertThat(error.getString("param")).isEqualTo(param);
    assertThat(error.getString("type")).isEqualTo("invalid_request_error");
    assertThat(error.getString("code")).isEqualTo("invalid_parameter");
    assertThat(error.getString("message")).isNotBlank();
  }

  @Test
  void aBadWindowIsExplainedWithFormsThatWork() {
    HttpResponse<String> r = get("/admin/stats?window=2d");
    assertThat(r.statusCode()).isEqualTo(400); // durations have no day unit
    String message = new JsonObject(r.body()).getJsonObject("error").getString("message");
    assertThat(message).contains("found '2d'");
    // every example the message offers is one the endpoint takes
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\b(\\d+(?:ms|s|m|h|d))\\b").matcher(message);
    List<String> examples = new ArrayList<>();
    while (m.find()) {
      if (!m.group(1).equals("2d")) {
        examples.add(m.group(1));
      }
    }
    assertThat(examples).isNotEmpty();
    for (String example : examples) {
      assertThat(get("/admin/stats?window=" + example).statusCode()).as(example).isEqualTo(200);
    }
  }

  @Test
  void limitsAtTheBoundsAreAccepted() {
    assertThat(rows(json(get("/admin/requests?limit=1")))).hasSize(1);
    assertThat(rows(json(get("/admin/requests?limit=1000")))).hasSize(21);
    assertThat(json(get("/admin/stats?window=744h")).getString("window")).isEqualTo("744h"); // 31 days
  }

  @Test
  void statsMatchTheTrafficSent() {
    JsonObject stats = json(get("/admin/stats?window=15m"));
    assertThat(stats.getString("window")).isEqualTo("15m");
    assertThat(stats.getLong("until") - stats.getLong("since")).isEqualTo(15 * 60_000 + 1);
    JsonObject total = stats.getJsonObject("total");
    assertThat(total.getLong("requests")).isEqualTo(21);
    assertThat(total.getLong("rejected")).isEqualTo(1);
    // rates are over the requests that were served (the refused one is not among them): 14 of 20
    assertThat(total.getDouble("success_rate")).isCloseTo(14 / 20.0, within(1e-4));
    assertThat(total.getDouble("error_rate")).isCloseTo(6 / 20.0, within(1e-4));
    assertThat(total.getDouble("timeout_rate")).isZero();

    JsonObject demo = group(stats, "demo", "sim");
    assertThat(demo.getLong("requests")).isEqualTo(12);
    assertThat(demo.getDouble("success_rate")).isCloseTo(8 / 12.0, within(1e-4));
    assertThat(demo.getDouble("error_rate")).isCloseTo(4 / 12.0, within(1e-4));
    assertThat(demo.getDouble("timeout_rate")).isZero();
    assertThat(demo.getDouble("retried_share")).isZero();
    JsonObject lat = demo.getJsonObject("latency_ms");
    assertThat(lat.getDouble("p50")).isPositive();
    assertThat(lat.getDouble("p50")).isLessThanOrEqualTo(lat.getDouble("p95"));
    assertThat(lat.getDouble("p95")).isLessThanOrEqualTo(lat.getDouble("p99"));
    assertThat(lat.getDouble("p99")).isLessThanOrEqualTo(lat.getDouble("max"));
    assertThat(demo.getValue("first_token_ms")).isNull(); // no stream on demo

    JsonObject other = group(stats, "other", "alt");
    assertThat(other.getLong("requests")).isEqualTo(8);
    assertThat(other.getDouble("success_rate")).isCloseTo(6 / 8.0, within(1e-4));
    assertThat(other.getDouble("error_rate")).isCloseTo(2 / 8.0, within(1e-4));
    assertThat(other.getJsonObject("first_token_ms").getDouble("p50")).isPositive();

    JsonObject nope = stats.getJsonArray("groups").stream().map(o -> (JsonObject) o)
        .filter(g -> "nope".equals(g.getString("model"))).findFirst().orElseThrow();
    assertThat(nope.getLong("requests")).isEqualTo(1);
    assertThat(nope.getLong("rejected")).isEqualTo(1);
    assertThat(nope.getValue("success_rate")).isNull(); // nothing served: no rate rather than 0%

    // without a window: the last 15 minutes, which hold all of it
    assertThat(json(get("/admin/stats")).getJsonObject("total").getLong("requests")).isEqualTo(21);
  }

  private static JsonObject group(JsonObject stats, String model, String provider) {
    return stats.getJsonArray("groups").stream().map(o -> (JsonObject) o)
        .filter(g -> model.equals(g.getString("model")) && provider.equals(g.getString("provider")))
        .findFirst().orElseThrow(() -> new AssertionError("no group " + model + "/" + provider + " in " + stats));
  }

  @Test
  void exportIsNdjsonOfEveryRow() {
    HttpResponse<String> r = get("/admin/requests/export");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/x-ndjson");
    List<String> lines = r.body().lines().toList();
    assertThat(r.body()).endsWith("\n");
    assertThat(lines).hasSize(21);
    List<JsonObject> parsed = lines.stream().map(JsonObject::new).toList();
    assertThat(parsed).isEqualTo(all); // the same rows, fields and order as the paged API

    List<String> demo = get("/admin/requests/export?model=demo&outcome=upstream_error").body().lines().toList();
    assertThat(demo).hasSize(4).allSatisfy(l -> {
      JsonObject o = new JsonObject(l);
      assertThat(o.getString("model")).isEqualTo("demo");
      assertThat(o.getString("outcome")).isEqualTo("upstream_error");
    });
    HttpResponse<String> none = get("/admin/requests/export?model=unknown");
    assertThat(none.statusCode()).isEqualTo(200);
    assertThat(none.body()).isEmpty();
  }

  @Test
  void withoutAStoreTheLogIsDisabledAndSaysSo() {
    try (TestGateway none = TestGateway.start(TestGateway.SIMPLE + "store: { url: none }\n")) {
      assertThat(none.post("/v1/chat/completions", TestGateway.chat(null)).statusCode()).isEqualTo(200);
      assertThat(new JsonObject(none.get("/ready").body()).getString("request_log")).isEqualTo("disabled");
      assertThat(new JsonObject(none.get("/admin/status").body()).getJsonObject("request_log").getBoolean("enabled"))
          .isFalse();
      for (String path : List.of("/admin/requests", "/admin/requests/export", "/admin/stats")) {
        HttpResponse<String> r = none.get(path);
        assertThat(r.statusCode()).as(path).isEqualTo(503);
        assertThat(new JsonObject(r.body()).getJsonObject("error").getString("code")).isEqualTo("request_log_disabled");
      }
      assertThat(none.get("/admin/requests?limit=0").statusCode()).isEqualTo(400); // parameters are still checked
      assertThat(none.get("/metrics").body()).doesNotContain("sluice_request_log_").contains("sluice_requests_total");
    }
  }

  @Test
  void theAdminKeyIsRequiredWhenOneIsSet() {
    try (TestGateway locked = TestGateway.start(TestGateway.SIMPLE, Map.of("SLUICE_ADMIN_KEY", "admin-s3cret"))) {
      for (String path : List.of("/admin/requests", "/admin/requests/export", "/admin/stats?window=15m",
          "/admin/status", "/admin/keys", "/admin/alerts")) {
        HttpResponse<String> none = locked.get(path);
        assertThat(none.statusCode()).as(path).isEqualTo(401);
        assertThat(none.headers().firstValue("www-authenticate")).hasValue("Bearer");
        assertThat(new JsonObject(none.body()).getJsonObject("error").getString("code")).isEqualTo("invalid_admin_key");
        assertThat(none.body()).doesNotContain("admin-s3cret");
        assertThat(send(locked, path, "Bearer wrong-key").statusCode()).as(path).isEqualTo(401);
        assertThat(send(locked, path, "admin-s3cret").statusCode()).as(path + " without 'Bearer'").isEqualTo(401);
        assertThat(send(locked, path, "Bearer admin-s3cret").statusCode()).as(path).isEqualTo(200);
        assertThat(send(locked, path, "bearer admin-s3cret").statusCode()).as(path).isEqualTo(200);
      }
    }
  }

  private static HttpResponse<String> send(TestGateway g, String path, String authorization) {
    return g.send(HttpRequest.newBuilder(URI.create(g.baseUrl() + path)).header("authorization", authorization).GET());
  }

  @Test
  void withoutAnAdminKeyOnlyLoopbackClientsGetIn() throws Exception {
    Optional<InetAddress> lan = nonLoopbackAddress();
    Assumptions.assumeTrue(lan.isPresent(), "this machine has no non-loopback IPv4 address to connect from");
    String yaml = TestGateway.SIMPLE.replace("server: { port: 0, event_loops: 1 }",
        "server: { host: 0.0.0.0, port: 0, event_loops: 1 }");
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    try (TestGateway open = TestGateway.start(yaml)) {
      String remote = "http://" + lan.get().getHostAddress() + ":" + open.gateway().port();
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(remote + "/admin/requests")).GET()
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(403);
      assertThat(new JsonObject(r.body()).getJsonObject("error").getString("code")).isEqualTo("admin_loopback_only");
      assertThat(open.get("/admin/requests").statusCode()).isEqualTo(200); // loopback
    }
    try (TestGateway locked = TestGateway.start(yaml, Map.of("SLUICE_ADMIN_KEY", "k3y"))) {
      String remote = "http://" + lan.get().getHostAddress() + ":" + locked.gateway().port();
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(remote + "/admin/requests"))
          .header("authorization", "Bearer k3y").GET().timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200); // with a key, from anywhere
      assertThat(locked.get("/admin/requests").statusCode()).isEqualTo(401); // and loopback needs it too
    }
  }

  private static Optional<InetAddress> nonLoopbackAddress() throws Exception {
    for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!ni.isUp() || ni.isLoopback()) {
        continue;
      }
      for (InetAddress a : Collections.list(ni.getInetAddresses())) {
        if (a instanceof Inet4Address && !a.isLoopbackAddress()) {
          return Optional.of(a);
        }
      }
    }
    return Optional.empty();
  }
}
