package dev.sluice.testing;

import static org.awaitility.Awaitility.await;

import dev.sluice.telemetry.RequestRecord;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** Small conveniences for fault tests over HTTP: timed calls and what the Sluice headers say. */
public final class Calls {
  private Calls() {}

  /** A response and how long the call took at the client. */
  public record Call(HttpResponse<String> response, long elapsedNanos) {
    public int status() {
      return response.statusCode();
    }

    public String body() {
      return response.body();
    }

    public String header(String name) {
      return response.headers().firstValue(name).orElse(null);
    }

    public long elapsedMillis() {
      return elapsedNanos / 1_000_000;
    }

    /** The attempt count of {@code X-Sluice-Attempts: 2 (a:503, b:200)}, or -1 without the header. */
    public int attempts() {
      String h = header("x-sluice-attempts");
      return h == null ? -1 : Integer.parseInt(h.substring(0, h.indexOf(' ')).trim());
    }

    /** The hops of {@code X-Sluice-Attempts}, e.g. {@code [a:503, b:200]}. */
    public List<String> hops() {
      String h = header("x-sluice-attempts");
      if (h == null) {
        return List.of();
      }
      String inner = h.substring(h.indexOf('(') + 1, h.lastIndexOf(')'));
      return inner.isBlank() ? List.of() : Arrays.stream(inner.split(",")).map(String::trim).toList();
    }

    /** The gateway's record of this request (written just after the answer: waited for). */
    public RequestRecord record(TestGateway gw) {
      return Calls.record(gw, header("x-request-id"));
    }

    @Override
    public String toString() {
      return status() + " in " + elapsedMillis() + " ms, attempts " + header("x-sluice-attempts") + ", skipped "
          + header("x-sluice-retry-skipped") + ", hedged " + header("x-sluice-hedged") + ": " + body();
    }
  }

  /**
   * The gateway's record of a request, by id. A request is recorded right after its answer is
   * written, on the gateway's event loop, so a client can see the answer first: this waits.
   */
  public static RequestRecord record(TestGateway gw, String requestId) {
    return await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
        .until(() -> gw.gateway().recent().latest(1024).stream().filter(r -> requestId.equals(r.id())).findFirst(),
            Optional::isPresent)
        .orElseThrow();
  }

  /** POSTs a chat body with extra headers given as name, value, name, value... */
  public static Call chat(TestGateway gw, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/chat/completions"))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    long t0 = System.nanoTime();
    HttpResponse<String> r = gw.send(b);
    return new Call(r, System.nanoTime() - t0);
  }

  /** A chat body for {@code model} with extra members (e.g. {@code "stream":true}). */
  public static String body(String model, String extra) {
    return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]"
        + (extra == null || extra.isEmpty() ? "" : "," + extra) + "}";
  }

  /** Writes a simulator profile into {@code dir} and returns its path, for {@code profile:} in YAML. */
  public static String profile(Path dir, String yaml) {
    try {
      Path p = Files.createTempFile(dir, "prof", ".yaml");
      Files.writeString(p, yaml);
      return p.toAbsolutePath().toString();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The events of an SSE body, as their data payloads. */
  public static List<String> events(String sse) {
    List<String> out = new ArrayList<>();
    for (String block : sse.split("\n\n")) {
      StringBuilder data = new StringBuilder();
      for (String line : block.split("\n")) {
        if (line.startsWith("data:")) {
          data.append(line.substring(5).strip());
        }
      }
      if (data.length() > 0) {
        out.add(data.toString());
      }
    }
    return out;
  }
}
