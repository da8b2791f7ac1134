package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.testing.TestCerts;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PfxOptions;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generator against an https:// target: its certificate verified, the server named (SNI), self-warm on plain HTTP. */
class BenchTlsTest {
  @TempDir
  static Path dir;
  static Vertx vertx;
  static HttpServer server;
  static TestCerts certs;
  static final List<String> serverNames = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() {
    certs = TestCerts.create(dir, "localhost");
    vertx = Vertx.vertx();
    server = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setSni(true)
            .setKeyCertOptions(new PfxOptions().setPath(certs.keyStore().toString()).setPassword(TestCerts.PASSWORD)))
        .requestHandler(req -> {
          serverNames.add(String.valueOf(req.connection().indicatedServerName()));
          req.body().onSuccess(b -> req.response().putHeader("content-type", "application/json")
              .end("{\"id\":\"t\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                  + "\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}"));
        })
        .listen(0, "127.0.0.1").await();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  private static BenchSpec spec(Path ca) {
    return new BenchSpec(URI.create("https://localhost:" + server.actualPort()), "m", 40, 500_000_000L, 0, false, 8, 0,
        false, 10_000_000_000L, 1, "tls", 20, ca);
  }

  @Test
  void aTrustedTargetIsBenchedOverTls() throws Exception {
    serverNames.clear();
    JsonNode doc = ResultJson.of(BenchRun.run(spec(certs.caPem()), Map.of(), Progress.NONE));
    assertThat(doc.at("/counts/ok").asLong()).isEqualTo(20);
    assertThat(serverNames).hasSize(20).containsOnly("localhost");
  }

  @Test
  void anUntrustedTargetFailsEveryRequestAsAConnectError() throws Exception {
    serverNames.clear();
    JsonNode doc = ResultJson.of(BenchRun.run(spec(null), Map.of(), Progress.NONE));
    assertThat(doc.at("/counts/ok").asLong()).isZero();
    assertThat(doc.at("/errors/connect_error").asLong()).isEqualTo(20);
    assertThat(serverNames).isEmpty();
  }
}
