package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.Socket;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code sluice serve} as its own process, stopped with SIGTERM (what Ctrl-C, systemd and
 * Kubernetes send) while a stream and a plain request are in flight.
 */
class ServeStopTest {

  @TempDir
  Path dir;

  private Process gateway;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  @AfterEach
  void kill() {
    if (gateway != null) {
      gateway.destroyForcibly();
    }
  }

  /** Starts the gateway's own main class in a JVM of its own and returns its port. */
  private int serve(String... extra) throws IOException {
    List<String> args = new ArrayList<>(List.of("serve", "--port", "0", "--event-loops", "1", "--data-dir", dir.toString()));
    args.addAll(List.of(extra));
    CommandProcess started = CommandProcess.start(dir, "256m", args.toArray(String[]::new));
    gateway = started.process;
    return started.port;
  }

  /** What a client received: the body's text, and how it ended. */
  record Received(int status, String body, String cut) {}

  private CompletableFuture<Received> send(int port, boolean stream, int tokensPerSecond, int tokens, StringBuffer seen) {
    String body = "{\"model\":\"demo\",\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
        + "\"sim\":{\"tokens_per_second\":" + tokensPerSecond + ",\"output_tokens\":" + tokens + "}}";
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    return http.sendAsync(req, HttpResponse.BodyHandlers.ofInputStream()).handle((resp, failure) -> {
      if (failure != null) {
        return new Received(-1, "", failure.toString());
      }
      try (InputStream in = resp.body()) {
        byte[] buf = new byte[4096];
        for (int n; (n = in.read(buf)) > 0; ) {
          seen.append(new String(buf, 0, n, StandardCharsets.UTF_8));
        }
        return new Received(resp.statusCode(), seen.toString(), null);
      } catch (IOException e) {
        return new Received(resp.statusCode(), seen.toString(), e.toString());
      }
    });
  }

  private boolean refusesConnections(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return false;
    } catch (ConnectException e) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private int exitCode() throws InterruptedException {
    assertThat(gateway.waitFor(60, TimeUnit.SECONDS)).as("the gateway stopped").isTrue();
    return gateway.exitValue();
  }

  private List<String> logged() throws Exception {
    List<String> rows = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("sluice.db"));
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT stream, status, outcome FROM request_log ORDER BY stream")) {
      while (rs.next()) {
        rows.add((rs.getInt(1) == 1 ? "stream " : "plain ") + rs.getInt(2) + " " + rs.getString(3));
      }
    }
    return rows;
  }

  private static String lastEvent(String sse) {
    String[] events = sse.strip().split("\n\n");
    return events[events.length - 1];
  }

  @Test
  void sigtermLetsTheRequestsInFlightFinishRecordsThemAndExitsZero() throws Exception {
    int port = serve();
    StringBuffer streamed = new StringBuffer();
    CompletableFuture<Received> stream = send(port, true, 10, 25, streamed);
    CompletableFuture<Received> plain = send(port, false, 10, 25, new StringBuffer());
    await().atMost(Duration.ofSeconds(30)).until(() -> streamed.toString().contains("\"content\":\""));

    gateway.destroy(); // SIGTERM

    await().atMost(Duration.ofSeconds(30)).until(() -> refusesConnections(port) || !gateway.isAlive());
    Received s = stream.get(60, TimeUnit.SECONDS);
    Received p = plain.get(60, TimeUnit.SECONDS);
    assertThat(s.cut()).as("stream: %s", s).isNull();
    assertThat(lastEvent(s.body())).isEqualTo("data: [DONE]");
    assertThat(p.cut()).as("plain: %s", p).isNull();
    assertThat(p.status()).isEqualTo(200);
    assertThat(p.body()).contains("\"finish_reason\":\"stop\"");
    assertThat(exitCode()).as("exit status; stderr: %s", Files.readString(dir.resolve("err.txt"))).isZero();
    assertThat(logged()).containsExactly("plain 200 success", "stream 200 success");
  }

  @ParameterizedTest
  @ValueSource(strings = {"1s", "0"})
  void requestsStillRunningWhenTheDrainEndsGetAnErrorNotACut(String drain) throws Exception {
    int port = serve("--drain", drain);
    StringBuffer streamed = new StringBuffer();
    CompletableFuture<Received> stream = send(port, true, 5, 1000, streamed);
    CompletableFuture<Received> plain = send(port, false, 5, 1000, new StringBuffer());
    await().atMost(Duration.ofSeconds(30)).until(() -> streamed.toString().contains("\"content\":\""));

    gateway.destroy();

    Received s = stream.get(60, TimeUnit.SECONDS);
    Received p = plain.get(60, TimeUnit.SECONDS);
    assertThat(s.cut()).as("stream: %s", s).isNull();
    assertThat(lastEvent(s.body())).startsWith("data: {\"error\":").contains("\"code\":\"stream_truncated\"");
    assertThat(p.cut()).as("plain: %s", p).isNull();
    assertThat(p.status()).isEqualTo(503);
    assertThat(p.body()).contains("\"type\":\"shutting_down\"");
    assertThat(exitCode()).isZero();
    assertThat(logged()).containsExactly("plain 503 unavailable", "stream 200 truncated");
  }

  @Test
  void aSecondSignalEndsTheDrainAtOnce() throws Exception {
    int port = serve("--drain", "10m");
    StringBuffer streamed = new StringBuffer();
    CompletableFuture<Received> stream = send(port, true, 5, 1000, streamed);
    await().atMost(Duration.ofSeconds(30)).until(() -> streamed.toString().contains("\"content\":\""));

    gateway.destroy();
    await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(dir.resolve("err.txt")).contains("stopping"));
    gateway.destroy();

    Received s = stream.get(60, TimeUnit.SECONDS);
    assertThat(lastEvent(s.body())).startsWith("data: {\"error\":").contains("\"code\":\"stream_truncated\"");
    assertThat(exitCode()).isZero();
    assertThat(logged()).containsExactly("stream 200 truncated");
  }
}
