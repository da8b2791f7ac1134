package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.server.Gateway;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code sluice report} in-process, over a request log a real gateway wrote: the tables per model
 * and per deployment, and recommendations that follow from the traffic (a first-byte guard firing
 * on 10% of one deployment's requests, another deployment failing 20% of the time).
 */
class ReportCommandTest {
  private static final String YAML = """
      server: { port: 0, event_loops: 1 }
      providers:
        sim: { type: sim, seed: 7, timeouts: { connect: 2s, first_byte: 2s } }
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
  private static final String QUICK = "\"first_token\":\"1ms\",\"output_tokens\":4,\"tokens_per_second\":10000";

  @TempDir
  static Path dataDir;

  @BeforeAll
  static void traffic() throws Exception {
    Gateway gw = Gateway.start(new ConfigLoader(Map.of()).loadText(YAML, "test"), new Gateway.Options(dataDir, null));
    try {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      // demo on sim-a: 36 quick answers, 4 that would take 20 s to start and meet the 2 s first-byte guard
      // (a margin wide enough that a busy machine does not make a quick answer miss it)
      for (int i = 0; i < 40; i++) {
        String sim = i % 10 == 9 ? "\"first_token\":\"20s\"" : QUICK;
        assertThat(chat(http, gw, "demo", sim).statusCode()).isEqualTo(i % 10 == 9 ? 504 : 200);
      }
      // other on alt-b: 20 quick answers, 5 provider errors
      for (int i = 0; i < 25; i++) {
        String sim = i % 5 == 4 ? QUICK + ",\"error_rate\":1,\"error_statuses\":[503]" : QUICK;
        assertThat(chat(http, gw, "other", sim).statusCode()).isEqualTo(i % 5 == 4 ? 503 : 200);
      }
    } finally {
      gw.close(); // drains the request log into sluice.db
    }
    assertThat(dataDir.resolve("sluice.db")).exists();
  }

  private static HttpResponse<String> chat(HttpClient http, Gateway gw, String model, String sim) throws Exception {
    String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"sim\":{"
        + sim + "}}";
    return http.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
        .header("content-type", "application/json").timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private record Run(int exit, String out, String err) {}

  private static Run report(String... args) {
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      String[] all = new String[args.length + 1];
      all[0] = "report";
      System.arraycopy(args, 0, all, 1, args.length);
      int exit = new CommandLine(new Main()).execute(all);
      return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
    }
  }

  private static String row(String out, String name) {
    return out.lines().filter(l -> l.startsWith(name + " ")).findFirst()
        .orElseThrow(() -> new AssertionError("no row '" + name + "' in:\n" + out));
  }

  private static List<String> cells(String row, String name) {
    return List.of(row.substring(name.length()).trim().split("\\s+"));
  }

  @Test
  void printsTablesAndRecommendationsDrawnFromTheLog() throws Exception {
    Run r = report("--window", "1h", "--data-dir", dataDir.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    String out = r.out();
    Files.createDirectories(Path.of("target"));
    Files.writeString(Path.of("target/report-sample.txt"), out);
    assertThat(out).startsWith("Sluice report: ");
    assertThat(out).contains("model @ provider", "deployment", "requests", "success", "timeout", "p50 ms", "p99 ms");

    // columns: requests, success, timeout, errors, cut, p50, p95, p99, ttft p50, retried
    List<String> demo = cells(row(out, "demo @ sim"), "demo @ sim");
    assertThat(demo.subList(0, 5)).containsExactly("40", "90.0%", "10.0%", "0.0%", "0.0%");
    List<String> other = cells(row(out, "other @ alt"), "other @ alt");
    assertThat(other.subList(0, 5)).containsExactly("25", "80.0%", "0.0%", "20.0%", "0.0%");
    List<String> all = cells(row(out, "all"), "all");
    assertThat(all.get(0)).isEqualTo("65");
    assertThat(cells(row(out, "sim-a"), "sim-a").get(0)).isEqualTo("40");
    assertThat(cells(row(out, "alt-b"), "alt-b").get(0)).isEqualTo("25");
    // the timed-out requests waited for the guard: the p99 of sim-a is at least the 2 s guard
    assertThat(Double.parseDouble(cells(row(out, "sim-a"), "sim-a").get(7))).isGreaterThanOrEqualTo(2000);

    String recs = out.substring(out.indexOf("Recommendations:"));
    assertThat(recs).contains("sim-a: first_byte_timeout fired on 10.0% of requests");
    assertThat(recs).contains("alt-b: 20.0% of requests failed ({upstream_status_503=5})");
    assertThat(recs).doesNotContain("nothing stands out");
    assertThat(recs).doesNotContain("sim-a: 10.0% of requests failed"); // timeouts are not counted as errors
  }

  @Test
  void anEmptyLogSaysNothingStandsOut(@TempDir Path empty) {
    Run r = report("--window", "1h", "--data-dir", empty.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("Recommendations:", "nothing stands out in this window");
    assertThat(r.out()).doesNotContain("demo @ sim");
    assertThat(empty.resolve("sluice.db")).exists(); // the store was created, empty, by the migrations
  }

  @Test
  void aBadWindowIsAUsageError() {
    for (String w : List.of("soon", "0", "1x", "7d")) {
      Run r = report("--window", w, "--data-dir", dataDir.toString());
      assertThat(r.exit()).as(w).isEqualTo(2);
      assertThat(r.err()).contains("--window");
      assertThat(r.out()).isEmpty();
    }
  }

  @Test
  void aStorelessConfigurationIsAUsageError(@TempDir Path dir) throws Exception {
    Path cfg = dir.resolve("none.yaml");
    Files.writeString(cfg, YAML + "store: { url: none }\n");
    Run r = report("--config", cfg.toString(), "--data-dir", dir.toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("store.url: none");
  }
}
