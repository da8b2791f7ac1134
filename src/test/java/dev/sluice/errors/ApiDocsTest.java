package dev.sluice.errors;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * docs/api.md names every error the gateway's code writes with a literal status, type and code, on
 * a row with that status, and every response header it sets.
 */
class ApiDocsTest {
  /** {@code new ApiError(404, ApiError.INVALID_REQUEST, "not_found"}, {@code new ApiError(403, "permission_error", "x"}. */
  private static final Pattern FULL = Pattern.compile(
      "new ApiError\\((\\d{3}),\\s*(ApiError\\.INVALID_REQUEST|\"[a-z_]+\"),\\s*\"([a-z_]+)\"");
  /** {@code ApiError.invalid("code"}, {@code unauthorized("code"}, {@code overloaded("code"}: 400, 401, 503. */
  private static final Pattern SHORT = Pattern.compile("(ApiError\\.invalid|unauthorized|overloaded)\\(\"([a-z_]+)\"");

  private static String sources() {
    try (Stream<Path> files = Files.walk(Path.of("src/main/java/dev/sluice"))) {
      StringBuilder sb = new StringBuilder();
      for (Path p : files.filter(f -> f.toString().endsWith(".java"))
          .filter(f -> !f.toString().contains("/provider/sim/")).toList()) {
        sb.append(Files.readString(p)).append('\n');
      }
      return sb.toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<String> rows() throws IOException {
    return Files.readAllLines(Path.of("docs/api.md")).stream().filter(l -> l.startsWith("| ")).toList();
  }

  private static boolean documented(List<String> rows, String given, String type, String code) {
    // an error after a stream's commit point goes out as the final event of a 200
    String status = code.equals("stream_truncated") ? "200, then a final event" : given;
    return rows.stream().anyMatch(r -> r.startsWith("| " + status + " |") && r.contains("`" + type + "`")
        && r.contains("`" + code + "`"));
  }

  @Test
  void everyErrorTheGatewayWritesIsInTheDocWithItsStatus() throws Exception {
    String src = sources();
    List<String> rows = rows();
    Set<String> missing = new TreeSet<>();
    Matcher m = FULL.matcher(src);
    int found = 0;
    while (m.find()) {
      found++;
      String type = m.group(2).startsWith("\"") ? m.group(2).replace("\"", "") : ApiError.INVALID_REQUEST;
      if (!documented(rows, m.group(1), type, m.group(3))) {
        missing.add(m.group(1) + " " + type + " " + m.group(3));
      }
    }
    Matcher s = SHORT.matcher(src);
    while (s.find()) {
      found++;
      String status = switch (s.group(1)) {
        case "unauthorized" -> "401";
        case "overloaded" -> "503";
        default -> "400";
      };
      String type = switch (s.group(1)) {
        case "unauthorized" -> "authentication_error";
        case "overloaded" -> "overloaded_error";
        default -> ApiError.INVALID_REQUEST;
      };
      if (!documented(rows, status, type, s.group(2))) {
        missing.add(status + " " + type + " " + s.group(2));
      }
    }
    assertThat(found).as("the sources were read").isGreaterThan(40);
    assertThat(missing).as("errors written by the gateway, not on a row of docs/api.md with their status").isEmpty();
  }

  @Test
  void everyResponseHeaderTheGatewaySetsIsInTheDoc() throws Exception {
    String doc = Files.readString(Path.of("docs/api.md")).toLowerCase(Locale.ROOT);
    // read from clients and providers, or values rather than names
    Set<String> notSent = Set.of("REQUEST_TIMEOUT", "GRPC_TIMEOUT", "FORWARDED", "X_FORWARDED_FOR", "X_REAL_IP", "VIA",
        "NO", "TRUE");
    Set<String> missing = new TreeSet<>();
    for (Field f : SluiceHeaders.class.getFields()) {
      if (!Modifier.isStatic(f.getModifiers()) || notSent.contains(f.getName()) || f.getName().startsWith("RATELIMIT_")) {
        continue;
      }
      String name = f.get(null).toString();
      if (!doc.contains("`" + name)) {
        missing.add(name);
      }
    }
    assertThat(missing).as("headers the gateway sets, not in docs/api.md").isEmpty();
  }
}
