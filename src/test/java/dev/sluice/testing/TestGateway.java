package dev.sluice.testing;

import static org.awaitility.Awaitility.await;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.deadline.Scheduler;
import dev.sluice.provider.sim.Simulator;
import dev.sluice.server.Gateway;
import dev.sluice.telemetry.Ledger;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/**
 * A real gateway on a free loopback port, with its in-process simulator, for HTTP tests. Configure
 * it with YAML; a request body's {@code "sim": {...}} object tells the simulator how to behave for
 * that request.
 */
public final class TestGateway implements AutoCloseable {
  /** One simulated provider serving model {@code demo} with fast, healthy defaults. */
  public static final String SIMPLE = """
      server: { port: 0, event_loops: 1 }
      providers:
        sim: { type: sim, seed: 7 }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast }
      """;

  private final Gateway gateway;
  private final HttpClient http = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5))
      .build();

  private TestGateway(Gateway gateway) {
    this.gateway = gateway;
  }

  public static TestGateway start(String yaml) {
    return start(yaml, Map.of());
  }

  public static TestGateway start(String yaml, Map<String, String> env) {
    return start(new ConfigLoader(env).loadText(yaml, "test"));
  }

  /** A gateway for a configuration built or adjusted in code. */
  public static TestGateway start(SluiceConfig config) {
    return start(config, java.util.function.UnaryOperator.identity());
  }

  /** A gateway whose request timers go through {@code timers} (see {@link Gateway.Options}). */
  public static TestGateway start(String yaml, java.util.function.UnaryOperator<Scheduler> timers) {
    return start(new ConfigLoader(Map.of()).loadText(yaml, "test"), timers);
  }

  private static TestGateway start(SluiceConfig config, java.util.function.UnaryOperator<Scheduler> timers) {
    try {
      java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("sluice-test");
      dir.toFile().deleteOnExit();
      return new TestGateway(Gateway.start(config, new Gateway.Options(dir, null, timers)));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  public Gateway gateway() {
    return gateway;
  }

  public String baseUrl() {
    return gateway.baseUrl();
  }

  public Simulator sim() {
    return gateway.simulator("sim");
  }

  public Ledger ledger() {
    return gateway.ledger();
  }

  public HttpResponse<String> post(String path, String json) {
    return send(HttpRequest.newBuilder(URI.create(baseUrl() + path))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)));
  }

  public HttpResponse<String> get(String path) {
    return send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).GET());
  }

  public HttpResponse<String> send(HttpRequest.Builder b) {
    try {
      return http.send(b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A chat request body for model {@code demo} with the given extra members (e.g. {@code "stream":true}). */
  public static String chat(String extra) {
    return "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]"
        + (extra == null || extra.isEmpty() ? "" : "," + extra) + "}";
  }

  /** Waits until everything requests took has been given back, and fails if it never is. */
  public void awaitAtRest() {
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
        .untilAsserted(() -> org.assertj.core.api.Assertions.assertThat(ledger().toJson().encode())
            .isEqualTo(new Ledger().toJson().encode()));
  }

  @Override
  public void close() {
    gateway.close();
  }
}
