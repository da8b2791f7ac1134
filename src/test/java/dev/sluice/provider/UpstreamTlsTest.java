package dev.sluice.provider;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.AtRest;
import dev.sluice.testing.Calls;
import dev.sluice.testing.Calls.Call;
import dev.sluice.testing.SseEvents;
import dev.sluice.testing.TestCerts;
import dev.sluice.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PfxOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The upstream path over real TLS, as every hosted provider is reached: a local HTTPS server with a
 * certificate for {@code localhost} made by the JDK's keytool ({@link TestCerts}), trusted through the provider's
 * {@code ca_file}. The gateway must send SNI, verify the certificate and its name, and speak
 * HTTP/2 over ALPN when asked; an untrusted or misnamed certificate must fail the attempt before a
 * request is sent.
 */
class UpstreamTlsTest {
  @TempDir
  static Path dir;
  static Vertx vertx;
  static HttpServer server;
  static TestGateway gw;
  static final List<String> serverNames = new CopyOnWriteArrayList<>();
  static final List<HttpVersion> versions = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() {
    TestCerts certs = TestCerts.create(dir, "localhost");
    Path ca = certs.caPem();
    vertx = Vertx.vertx();
    server = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setSni(true).setUseAlpn(true)
            .setKeyCertOptions(new PfxOptions().setPath(certs.keyStore().toString()).setPassword(TestCerts.PASSWORD)))
        .requestHandler(UpstreamTlsTest::answer)
        .listen(0, "127.0.0.1").await();
    int port = server.actualPort();
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          tls: { type: openai, base_url: "https://localhost:%1$d/v1", api_key: k, ca_file: "%2$s" }
          tls-h2: { type: openai, base_url: "https://localhost:%1$d/v1", api_key: k, ca_file: "%2$s", http2: true }
          untrusted: { type: openai, base_url: "https://localhost:%1$d/v1", api_key: k }
          misnamed: { type: openai, base_url: "https://127.0.0.1:%1$d/v1", api_key: k, ca_file: "%2$s" }
        resilience:
          retry: { max_attempts: 1 }
        models:
          tls: { deployments: [{ id: t, provider: tls, model: m }] }
          tls-h2: { deployments: [{ id: t2, provider: tls-h2, model: m }] }
          untrusted: { deployments: [{ id: u, provider: untrusted, model: m }] }
          misnamed: { deployments: [{ id: n, provider: misnamed, model: m }] }
        """.formatted(port, ca));
  }

  private static void answer(HttpServerRequest req) {
    serverNames.add(String.valueOf(req.connection().indicatedServerName()));
    versions.add(req.version());
    req.body().onSuccess(body -> {
      if (body.toString().replace(" ", "").contains("\"stream\":true")) {
        String p = "data: {\"id\":\"t\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\",\"choices\":[{\"index\":0,";
        req.response().putHeader("content-type", "text/event-stream")
            .end(p + "\"delta\":{\"role\":\"assistant\",\"content\":\"over\"},\"finish_reason\":null}]}\n\n"
                + p + "\"delta\":{\"content\":\" tls\"},\"finish_reason\":\"stop\"}]}\n\n"
                + "data: [DONE]\n\n");
      } else {
        req.response().putHeader("content-type", "application/json")
            .end("{\"id\":\"t\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"over tls\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}");
      }
    });
  }

  @AfterAll
  static void stop() {
    gw.close();
    vertx.close().await();
  }

  @BeforeEach
  void clear() {
    serverNames.clear();
    versions.clear();
  }

  @AfterEach
  void atRest() {
    AtRest.check(gw);
  }

  @Test
  void answersAndStreamsCrossVerifiedTlsWithTheServerNameSent() {
    Call c = Calls.chat(gw, Calls.body("tls", null));
    assertThat(c.status()).as(c.body()).isEqualTo(200);
    assertThat(c.body()).contains("over tls");
    Call s = Calls.chat(gw, Calls.body("tls", "\"stream\":true"));
    assertThat(s.status()).as(s.body()).isEqualTo(200);
    assertThat(SseEvents.chatText(s.body())).isEqualTo("over tls");
    assertThat(SseEvents.last(s.body())).isEqualTo("[DONE]");
    assertThat(serverNames).containsOnly("localhost").hasSize(2);
    assertThat(versions).containsOnly(HttpVersion.HTTP_1_1);
  }

  @Test
  void http2IsAgreedOverAlpn() {
    Call c = Calls.chat(gw, Calls.body("tls-h2", null));
    assertThat(c.status()).as(c.body()).isEqualTo(200);
    assertThat(versions).containsExactly(HttpVersion.HTTP_2);
    assertThat(serverNames).containsExactly("localhost");
  }

  @Test
  void aCertificateTheProviderDoesNotTrustIsRefusedBeforeAnythingIsSent() {
    Call c = Calls.chat(gw, Calls.body("untrusted", null));
    assertThat(c.status()).as(c.body()).isEqualTo(502);
    assertThat(c.body()).contains("upstream_unreachable");
    // the cause is named, not only Vert.x's "Failed to create SSL connection", the same for every TLS fault
    assertThat(c.body()).contains("unable to find valid certification path");
    assertThat(versions).isEmpty();
  }

  @Test
  void aCertificateForAnotherNameIsRefusedBeforeAnythingIsSent() {
    Call c = Calls.chat(gw, Calls.body("misnamed", null));
    assertThat(c.status()).as(c.body()).isEqualTo(502);
    assertThat(c.body()).contains("upstream_unreachable");
    assertThat(c.body()).contains("No subject alternative names matching IP address 127.0.0.1");
    assertThat(versions).isEmpty();
  }
}
