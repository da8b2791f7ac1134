package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.testing.TestGateway;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the admission and access tests share: requests, the error shape, keys, shed counters. */
final class AdmissionHttp {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5))
      .build();
  private static final Pattern SHED = Pattern.compile("^sluice_shed_total\\{([^}]*)\\}\\s+(\\S+)$", Pattern.MULTILINE);

  private AdmissionHttp() {}

  /** One response, whichever way it was sent. */
  record Reply(int status, Map<String, List<String>> headers, String body) {
    static Reply of(HttpResponse<String> r) {
      return new Reply(r.statusCode(), r.headers().map(), r.body());
    }

    Optional<String> header(String name) {
      for (var e : headers.entrySet()) {
        if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
          return Optional.of(e.getValue().get(0));
        }
      }
      return Optional.empty();
    }

    JsonNode json() {
      return parse(body);
    }

    /** Everything a client could see of this response, for leak checks. */
    String everything() {
      StringBuilder sb = new StringBuilder().append(status).append('\n');
      headers.forEach((k, v) -> sb.append(k).append(": ").append(v).append('\n'));
      return sb.append(body).toString();
    }

    @Override
    public String toString() {
      return everything();
    }
  }

  static JsonNode parse(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new UncheckedIOException("not JSON: " + body, e);
    }
  }

  static HttpRequest.Builder request(String base, String method, String path, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("content-type", "application/json");
    }
    if (headers.length > 0) {
      b.headers(headers);
    }
    return b;
  }

  static Reply send(String base, String method, String path, String body, String... headers) {
    try {
      return Reply.of(HTTP.send(request(base, method, path, body, headers).build(), HttpResponse.BodyHandlers.ofString()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static Reply send(TestGateway gw, String method, String path, String body, String... headers) {
    return send(gw.baseUrl(), method, path, body, headers);
  }

  static CompletableFuture<Reply> sendAsync(String base, String method, String path, String body, String... headers) {
    return HTTP.sendAsync(request(base, method, path, body, headers).build(), HttpResponse.BodyHandlers.ofString())
        .thenApply(Reply::of);
  }

  /** Headers for a client key, or none for {@code null}; then any extra name/value pairs. */
  static String[] auth(String key, String... more) {
    List<String> h = new ArrayList<>();
    if (key != null) {
      h.add("authorization");
      h.add("Bearer " + key);
    }
    Collections.addAll(h, more);
    return h.toArray(String[]::new);
  }

  static Reply chat(TestGateway gw, String key, String extra, String... headers) {
    return send(gw, "POST", "/v1/chat/completions", TestGateway.chat(extra), auth(key, headers));
  }

  static CompletableFuture<Reply> chatAsync(TestGateway gw, String key, String extra, String... headers) {
    return sendAsync(gw.baseUrl(), "POST", "/v1/chat/completions", TestGateway.chat(extra), auth(key, headers));
  }

  /** A chat request body member that makes the simulator take {@code ms} to answer. */
  static String slow(long ms) {
    return "\"sim\":{\"first_token\":\"" + ms + "ms\"}";
  }

  /** Checks OpenAI's error shape and returns the error object. */
  static JsonNode assertError(Reply r, int status, String type, String code) {
    assertThat(r.status()).as("status of %s", r).isEqualTo(status);
    assertThat(r.header("content-type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
    JsonNode root = r.json();
    assertThat(names(root)).as("%s", r.body()).containsExactly("error");
    JsonNode e = root.get("error");
    assertThat(names(e)).containsExactlyInAnyOrder("message", "type", "param", "code");
    assertThat(e.get("message").asText()).isNotBlank();
    assertThat(e.get("type").asText()).isEqualTo(type);
    assertThat(e.get("code").asText()).isEqualTo(code);
    return e;
  }

  /** A refusal for capacity or rate: as {@link #assertError}, with a Retry-After of whole seconds. */
  static long assertRetryAfter(Reply r) {
    assertThat(r.header("retry-after")).as("Retry-After of %s", r).isPresent();
    long s = Long.parseLong(r.header("retry-after").get());
    assertThat(s).isBetween(1L, 3600L);
    return s;
  }

  static List<String> names(JsonNode n) {
    assertThat(n.isObject()).as("%s is an object", n).isTrue();
    List<String> out = new ArrayList<>();
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      out.add(it.next());
    }
    return out;
  }

  /** {@code sluice_shed_total{reason}} as {@code /metrics} shows it; 0 before the first. */
  static double shed(TestGateway gw, String reason) {
    String text = send(gw, "GET", "/metrics", null).body();
    Matcher m = SHED.matcher(text);
    double total = 0;
    while (m.find()) {
      if (m.group(1).contains("reason=\"" + reason + "\"")) {
        total += Double.parseDouble(m.group(2));
      }
    }
    return total;
  }

  /** Every shed counter summed. */
  static double shedAll(TestGateway gw) {
    Matcher m = SHED.matcher(send(gw, "GET", "/metrics", null).body());
    double total = 0;
    while (m.find()) {
      total += Double.parseDouble(m.group(2));
    }
    return total;
  }

  /** Creates a key through the admin API and returns the answer (with its secret in {@code key}). */
  static JsonNode createKey(TestGateway gw, String adminKey, String json) {
    Reply r = send(gw, "POST", "/admin/keys", json, auth(adminKey));
    assertThat(r.status()).as("%s", r).isEqualTo(201);
    return r.json();
  }

  /** This machine's first non-loopback IPv4 address, or null when it has none. */
  static InetAddress nonLoopbackAddress() {
    try {
      for (NetworkInterface n : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!n.isUp() || n.isLoopback()) {
          continue;
        }
        for (InetAddress a : Collections.list(n.getInetAddresses())) {
          if (a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
            return a;
          }
        }
      }
    } catch (IOException e) {
      return null;
    }
    return null;
  }
}
