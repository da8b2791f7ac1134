package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} after real traffic: Prometheus text, the {@code sluice_*} families the design
 * asks for with the figures the traffic implies, JVM and process metrics, and labels that stay few
 * — no request ids, no keys, no model names a client made up.
 */
class MetricsTest {
  private static final String YAML = """
      server: { port: 0, event_loops: 1 }
      providers:
        sim: { type: sim, seed: 7 }
      resilience:
        retry: { max_attempts: 2, backoff: { base: 1ms, max: 2ms } }
        breaker: { enabled: true }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast }
            - { id: sim-b, provider: sim, model: sim-fast }
      """;
  private static final Pattern SAMPLE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  private static TestGateway gw;
  private static String keySecret;
  private static String keyId;
  private static final List<String> requestIds = new ArrayList<>();
  private static final List<String> madeUpModels = new ArrayList<>();
  private static String text;
  private static List<Sample> samples;

  record Sample(String name, Map<String, String> labels, double value) {}

  @BeforeAll
  static void traffic() throws Exception {
    gw = TestGateway.start(YAML);
    JsonObject key = new JsonObject(gw.post("/admin/keys", "{\"name\":\"metrics\"}").body());
    keySecret = key.getString("key");
    keyId = key.getString("id");
    for (int i = 0; i < 3; i++) {
      assertThat(chat("demo", null).statusCode()).isEqualTo(200);
    }
    for (int i = 0; i < 2; i++) {
      assertThat(chat("demo", "\"stream\":true").statusCode()).isEqualTo(200);
    }
    // both attempts fail: one retry (on the other deployment), then the provider's 503 goes back
    assertThat(chat("demo", "\"sim\":{\"error_rate\":1,\"error_statuses\":[503]}").statusCode()).isEqualTo(503);
    // clients can name any model: none of these names may become a label
    for (int i = 0; i < 25; i++) {
      String name = "made-up-" + UUID.randomUUID();
      madeUpModels.add(name);
      assertThat(chat(name, null).statusCode()).isEqualTo(404);
    }
    gw.awaitAtRest();
    await().atMost(Duration.ofSeconds(20)).until(() -> value(parse(scrape()), "sluice_request_log_written_total", Map.of())
        >= 31);
    HttpResponse<String> r = gw.get("/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(ct ->
        assertThat(ct).startsWith("text/plain").contains("version=0.0.4"));
    text = r.body();
    samples = parse(text);
    Files.createDirectories(Path.of("target"));
    Files.writeString(Path.of("target/metrics-sample.txt"), text); // for whoever edits docs/metrics.md
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  private static HttpResponse<String> chat(String model, String extra) {
    String id = "client-req-" + UUID.randomUUID();
    requestIds.add(id);
    String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]"
        + (extra == null ? "" : "," + extra) + "}";
    HttpResponse<String> r = gw.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
        .header("content-type", "application/json").header("authorization", "Bearer " + keySecret)
        .header("x-request-id", id).POST(HttpRequest.BodyPublishers.ofString(body)));
    r.headers().firstValue("x-request-id").ifPresent(requestIds::add);
    return r;
  }

  private static String scrape() {
    return gw.get("/metrics").body();
  }

  private static List<Sample> parse(String body) {
    List<Sample> out = new ArrayList<>();
    for (String line : body.split("\n")) {
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      Matcher m = SAMPLE.matcher(line);
      assertThat(m.matches()).as("not a Prometheus sample line: " + line).isTrue();
      Map<String, String> labels = new LinkedHashMap<>();
      if (m.group(2) != null && !m.group(2).isEmpty()) {
        Matcher l = LABEL.matcher(m.group(2));
        while (l.find()) {
          labels.put(l.group(1), l.group(2));
        }
      }
      out.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3).replace("+Inf", "Infinity")
          .replace("-Inf", "-Infinity"))));
    }
    return out;
  }

  private static List<Sample> named(String name) {
    return samples.stream().filter(s -> s.name().equals(name)).toList();
  }

  /** The sum over the samples of {@code name} whose labels include {@code match}. */
  private static double value(List<Sample> in, String name, Map<String, String> match) {
    return in.stream().filter(s -> s.name().equals(name))
        .filter(s -> s.labels().entrySet().containsAll(match.entrySet()))
        .mapToDouble(Sample::value).sum();
  }

  private static double value(String name, Map<String, String> match) {
    return value(samples, name, match);
  }

  private static Set<String> seriesKeys(List<Sample> in) {
    Set<String> out = new TreeSet<>();
    for (Sample x : in) {
      if (x.name().startsWith("sluice_")) {
        out.add(seriesKey(x));
      }
    }
    return out;
  }

  private static String seriesKey(Sample x) {
    return x.name() + x.labels();
  }

  @Test
  void itIsPrometheusTextWithHelpAndTypeForEveryFamily() {
    Set<String> typed = new HashSet<>();
    for (String line : text.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] p = line.split(" ");
        assertThat(p[3]).isIn("counter", "gauge", "histogram", "summary", "untyped");
        typed.add(p[2]);
      }
    }
    for (Sample s : samples) {
      String family = s.name().replaceAll("_(bucket|count|sum)$", "");
      assertThat(typed.contains(s.name()) || typed.contains(family)).as("# TYPE for " + s.name()).isTrue();
    }
    assertThat(text).contains("# HELP sluice_requests_total ");
  }

  @Test
  void requestsByModelProviderAndOutcome() {
    assertThat(value("sluice_requests_total", Map.of("model", "demo", "provider", "sim", "outcome", "success")))
        .isEqualTo(5);
    assertThat(value("sluice_requests_total", Map.of("model", "demo", "provider", "sim",
        "outcome", "upstream_error"))).isEqualTo(1);
    // refused before routing: counted, under model "none" whatever name the client sent
    assertThat(value("sluice_requests_total", Map.of("model", "none", "provider", "none", "outcome", "rejected")))
        .isEqualTo(25);
    assertThat(named("sluice_requests_total")).allSatisfy(s ->
        assertThat(s.labels().keySet()).containsExactlyInAnyOrder("model", "provider", "outcome"));
  }

  @Test
  void latencyHistograms() {
    List<Sample> buckets = named("sluice_request_duration_seconds_bucket");
    assertThat(buckets).isNotEmpty();
    assertThat(buckets).anySatisfy(s -> assertThat(s.labels()).containsEntry("le", "+Inf"));
    assertThat(value("sluice_request_duration_seconds_count", Map.of("model", "demo", "stream", "false")))
        .isEqualTo(4);
    assertThat(value("sluice_request_duration_seconds_count", Map.of("model", "demo", "stream", "true")))
        .isEqualTo(2);
    assertThat(value("sluice_request_duration_seconds_bucket", Map.of("model", "demo", "stream", "true",
        "le", "+Inf"))).isEqualTo(2);
    // first token: streams only
    assertThat(named("sluice_time_to_first_token_seconds_bucket")).isNotEmpty();
    assertThat(value("sluice_time_to_first_token_seconds_count", Map.of("model", "demo", "provider", "sim")))
        .isEqualTo(2);
    assertThat(value("sluice_time_to_first_token_seconds_sum", Map.of("model", "demo"))).isPositive();
    // the gateway's own share of each request
    assertThat(named("sluice_gateway_overhead_seconds_bucket")).isNotEmpty();
    assertThat(value("sluice_gateway_overhead_seconds_count", Map.of())).isEqualTo(5); // answered requests
    // buckets are cumulative
    List<Sample> ttft = named("sluice_time_to_first_token_seconds_bucket");
    for (int i = 1; i < ttft.size(); i++) {
      assertThat(ttft.get(i).value()).isGreaterThanOrEqualTo(ttft.get(i - 1).value());
    }
  }

  @Test
  void attemptsRetriesBreakersAndInFlight() {
    assertThat(value("sluice_attempts_total", Map.of("result", "success"))).isEqualTo(5);
    assertThat(value("sluice_attempts_total", Map.of("result", "5xx"))).isEqualTo(2);
    assertThat(named("sluice_attempts_total")).allSatisfy(s ->
        assertThat(s.labels().keySet()).containsExactlyInAnyOrder("deployment", "provider", "result"));
    assertThat(value("sluice_retries_total", Map.of("model", "demo"))).isEqualTo(1);
    for (String d : List.of("sim-a", "sim-b")) {
      assertThat(value("sluice_breaker_state", Map.of("deployment", d, "state", "closed"))).isEqualTo(1);
      assertThat(value("sluice_breaker_state", Map.of("deployment", d, "state", "open"))).isZero();
      assertThat(value("sluice_breaker_state", Map.of("deployment", d, "state", "half_open"))).isZero();
      assertThat(named("sluice_deployment_in_flight")).anySatisfy(s ->
          assertThat(s.labels()).containsEntry("deployment", d).containsEntry("provider", "sim"));
      assertThat(value("sluice_deployment_in_flight", Map.of("deployment", d))).isZero();
    }
    assertThat(named("sluice_requests_in_flight")).hasSize(1);
    assertThat(value("sluice_requests_in_flight", Map.of())).isZero();
    assertThat(value("sluice_request_log_written_total", Map.of())).isGreaterThanOrEqualTo(31);
    assertThat(value("sluice_request_log_dropped_total", Map.of())).isZero();
    assertThat(named("sluice_request_log_pending")).hasSize(1);
    assertThat(value("sluice_request_log_degraded", Map.of())).isZero();
    assertThat(value("sluice_attempts_per_request_count", Map.of("model", "demo"))).isEqualTo(6);
  }

  @Test
  void jvmAndProcessMetrics() {
    assertThat(value("jvm_memory_used_bytes", Map.of("area", "heap"))).isPositive();
    assertThat(named("jvm_threads_live_threads")).isNotEmpty();
    assertThat(named("jvm_classes_loaded_classes")).isNotEmpty();
    assertThat(named("process_cpu_usage")).isNotEmpty();
    assertThat(named("system_cpu_count")).isNotEmpty();
    assertThat(named("process_uptime_seconds")).isNotEmpty();
    assertThat(named("process_files_open_files")).isNotEmpty();
  }

  @Test
  void labelsStayFewAndCarryNoRequestIdsKeysOrMadeUpModels() {
    Set<String> allowed = Set.of("model", "provider", "deployment", "outcome", "reason", "result", "state",
        "stream", "kind", "to", "le");
    Set<String> seen = new TreeSet<>();
    Set<String> models = new TreeSet<>();
    for (Sample s : samples) {
      if (!s.name().startsWith("sluice_")) {
        continue;
      }
      seen.addAll(s.labels().keySet());
      if (s.labels().containsKey("model")) {
        models.add(s.labels().get("model"));
      }
    }
    assertThat(seen).isSubsetOf(allowed);
    assertThat(models).as("model label values").isSubsetOf("demo", "none");
    for (String id : requestIds) {
      assertThat(text).doesNotContain(id);
    }
    for (String m : madeUpModels) {
      assertThat(text).doesNotContain(m);
    }
    assertThat(text).doesNotContain(keyId).doesNotContain(keySecret);
    // more traffic adds no series of its own: label values come from configuration, not from
    // requests (a new series may appear only for a configured value not seen before, such as a
    // deployment's first success — which deployment serves a request is the router's choice)
    Set<String> before = seriesKeys(samples);
    for (int i = 0; i < 10; i++) {
      assertThat(chat("made-up-again-" + UUID.randomUUID(), null).statusCode()).isEqualTo(404);
    }
    assertThat(chat("demo", null).statusCode()).isEqualTo(200);
    gw.awaitAtRest();
    List<Sample> after = parse(scrape());
    Set<String> configured = Set.of("demo", "none", "sim", "sim-a", "sim-b");
    for (Sample s : after) {
      if (!s.name().startsWith("sluice_") || before.contains(seriesKey(s))) {
        continue;
      }
      for (String label : List.of("model", "provider", "deployment")) {
        if (s.labels().containsKey(label)) {
          assertThat(s.labels().get(label)).as("%s of new series %s", label, seriesKey(s)).isIn(configured);
        }
      }
    }
    assertThat(seriesKeys(after).size() - before.size()).as("new series").isLessThanOrEqualTo(2);
  }
}
