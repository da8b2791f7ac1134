package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * docs/metrics.md against what /metrics exposes, both ways: every {@code sluice_*} family with its
 * type and label names, after traffic that makes each of them appear; and docs/configuration.md
 * on {@code server.metrics: false}.
 */
class MetricsDocsTest {
  private static final Pattern NAME = Pattern.compile("(?m)^(sluice_[a-z0-9_]+?)(_bucket|_count|_sum|_max)?[{ ]");
  private static final Pattern TYPE = Pattern.compile("(?m)^# TYPE (sluice_[a-z0-9_]+) ([a-z]+)$");
  private static final Pattern SAMPLE = Pattern.compile("(?m)^(sluice_[a-z0-9_]+)(?:\\{([^}]*)\\})? ");
  private static final Pattern LABEL = Pattern.compile("([a-z_]+)=\"");
  /** A row of a table in the doc's {@code sluice_*} part: name, type, labels. */
  private static final Pattern ROW = Pattern.compile("(?m)^\\| `(sluice_[a-z0-9_]+)` \\| ([a-z]+) \\| ([^|]*) \\|");
  /** Documented as exported only once a cache records lookups, which none does yet. */
  private static final String NOT_YET = "sluice_cache_total";

  private static final String YAML = """
      server: { port: 0, event_loops: 1 }
      providers:
        sim: { type: sim, seed: 7 }
      resilience:
        retry: { max_attempts: 2, backoff: { base: 1ms, max: 2ms } }
        breaker: { enabled: true, window: 2, minimum_calls: 2 }
        hedge: { enabled: true, delay: 50ms }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast }
            - { id: sim-b, provider: sim, model: sim-fast }
      """;

  /** A family (as named in its TYPE line) and its type and label names. */
  record Family(String type, Set<String> labels) {}

  private static Set<String> exposed(String text) {
    Set<String> out = new TreeSet<>();
    Matcher m = NAME.matcher(text);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  /** The families of a scrape; a histogram's {@code _max} gauge belongs to the histogram (as the doc says). */
  private static Map<String, Family> families(String text) {
    Map<String, String> types = new TreeMap<>();
    Matcher t = TYPE.matcher(text);
    while (t.find()) {
      types.put(t.group(1), t.group(2));
    }
    types.keySet().removeIf(n -> n.endsWith("_max") && "histogram".equals(types.get(n.substring(0, n.length() - 4))));
    Map<String, Family> out = new TreeMap<>();
    types.forEach((name, type) -> {
      Set<String> labels = new TreeSet<>();
      Matcher s = SAMPLE.matcher(text);
      while (s.find()) {
        String n = s.group(1);
        boolean mine = n.equals(name) || "histogram".equals(type)
            && (n.equals(name + "_bucket") || n.equals(name + "_count") || n.equals(name + "_sum") || n.equals(name + "_max"));
        if (mine && s.group(2) != null) {
          Matcher l = LABEL.matcher(s.group(2));
          while (l.find()) {
            labels.add(l.group(1));
          }
        }
      }
      labels.remove("le");
      out.put(name, new Family(type, labels));
    });
    return out;
  }

  private static Map<String, Family> documented() throws Exception {
    String doc = Files.readString(Path.of("docs/metrics.md"));
    String part = doc.substring(doc.indexOf("## `sluice_*`"), doc.indexOf("## JVM and process"));
    Map<String, Family> out = new TreeMap<>();
    Matcher m = ROW.matcher(part);
    while (m.find()) {
      Set<String> labels = Arrays.stream(m.group(3).split(","))
          .map(String::trim).filter(s -> s.startsWith("`")).map(s -> s.replace("`", ""))
          .collect(Collectors.toCollection(TreeSet::new));
      out.put(m.group(1), new Family(m.group(2), labels));
    }
    return out;
  }

  /** Successes, a stream with usage, a hedge, failures that open both breakers, a 404, a key's 429. */
  private static String scrapeAfterTraffic(TestGateway gw) {
    assertThat(gw.post("/v1/chat/completions", TestGateway.chat("")).statusCode()).isEqualTo(200);
    assertThat(gw.post("/v1/chat/completions",
        TestGateway.chat("\"stream\":true,\"stream_options\":{\"include_usage\":true}")).statusCode()).isEqualTo(200);
    assertThat(gw.post("/v1/chat/completions", TestGateway.chat("\"sim\":{\"first_token\":\"300ms\"}")).statusCode())
        .isEqualTo(200);
    for (int i = 0; i < 3; i++) {
      gw.post("/v1/chat/completions", TestGateway.chat("\"sim\":{\"error_rate\":1,\"error_statuses\":[503]}"));
    }
    assertThat(gw.post("/v1/chat/completions", TestGateway.chat("").replace("\"demo\"", "\"nope\"")).statusCode())
        .isEqualTo(404);
    String key = new JsonObject(gw.post("/admin/keys", "{\"name\":\"m\",\"rpm\":1}").body()).getString("key");
    for (int i = 0; i < 2; i++) {
      gw.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
          .header("content-type", "application/json").header("authorization", "Bearer " + key)
          .POST(HttpRequest.BodyPublishers.ofString(TestGateway.chat(""))));
    }
    return gw.get("/metrics").body();
  }

  @Test
  void everySluiceMetricIsDocumentedWithItsTypeAndLabelsAndEveryDocumentedOneIsExposed() throws Exception {
    Map<String, Family> doc = documented();
    assertThat(doc).as("the doc's tables were read").containsKey("sluice_requests_total");
    try (TestGateway gw = TestGateway.start(YAML)) {
      Map<String, Family> seen = families(scrapeAfterTraffic(gw));
      Map<String, Family> expected = new TreeMap<>(doc);
      if (!seen.containsKey(NOT_YET)) {
        expected.remove(NOT_YET);
      }
      assertThat(seen).isEqualTo(expected);
    }
  }

  @Test
  void helpTextsNameOnlyTheDocumentedReasons() throws Exception {
    String doc = Files.readString(Path.of("docs/metrics.md"));
    try (TestGateway gw = TestGateway.start(TestGateway.SIMPLE)) {
      gw.post("/v1/chat/completions", TestGateway.chat("\"sim\":{\"error_rate\":1,\"error_statuses\":[503]}"));
      String help = gw.get("/metrics").body().lines().filter(l -> l.startsWith("# HELP sluice_retries_skipped_total"))
          .findFirst().orElseThrow();
      String reasons = help.substring(help.indexOf('(') + 1, help.indexOf(')'));
      for (String r : reasons.split(",")) {
        assertThat(doc).as("reason '%s' in %s", r.trim(), help).contains("`" + r.trim() + "`");
      }
    }
  }

  /**
   * metrics.md and configuration.md: "server.metrics: false stops recording per-request metrics ...;
   * the gauges and the JVM metrics are still exported".
   */
  @Test
  void metricsOffLeavesTheGaugesAndTheRequestLogsCounts() throws Exception {
    Map<String, Family> doc = documented();
    try (TestGateway gw = TestGateway.start(YAML.replace("event_loops: 1", "event_loops: 1, metrics: false"))) {
      String text = scrapeAfterTraffic(gw);
      Map<String, Family> seen = families(text);
      Set<String> notGauges = seen.entrySet().stream()
          .filter(e -> !e.getValue().type().equals("gauge") && !e.getKey().startsWith("sluice_request_log_"))
          .map(Map.Entry::getKey).collect(Collectors.toCollection(TreeSet::new));
      assertThat(notGauges).as("per-request metrics recorded with metrics: false").isEmpty();
      Set<String> gauges = doc.entrySet().stream().filter(e -> e.getValue().type().equals("gauge"))
          .map(Map.Entry::getKey).collect(Collectors.toCollection(TreeSet::new));
      assertThat(seen.keySet()).containsAll(gauges).contains("sluice_request_log_written_total");
      assertThat(text).contains("jvm_memory_used_bytes");
    }
  }

  @Test
  void everyExposedSluiceMetricIsNamedInTheDoc() throws Exception {
    String doc = Files.readString(Path.of("docs/metrics.md"));
    try (TestGateway gw = TestGateway.start(TestGateway.SIMPLE)) {
      gw.post("/v1/chat/completions", TestGateway.chat(""));
      Set<String> undocumented = new TreeSet<>();
      for (String n : exposed(gw.get("/metrics").body())) {
        if (!doc.contains("`" + n + "`")) {
          undocumented.add(n);
        }
      }
      assertThat(undocumented).isEmpty();
    }
  }
}
