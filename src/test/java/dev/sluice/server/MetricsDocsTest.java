package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.TestGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** docs/metrics.md against what /metrics exposes; docs/configuration.md on server.metrics: false. */
class MetricsDocsTest {
  private static final Pattern NAME = Pattern.compile("(?m)^(sluice_[a-z0-9_]+?)(_bucket|_count|_sum|_max)?[{ ]");

  private static Set<String> exposed(String text) {
    Set<String> out = new TreeSet<>();
    Matcher m = NAME.matcher(text);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  @Test
  void everyExposedSluiceMetricIsDocumented() throws Exception {
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

  /** configuration.md: "server.metrics: false ... the endpoint still answers, with JVM metrics only". */
  @Test
  void metricsOffLeavesJvmMetricsOnlyAsConfigurationMdSays() throws Exception {
    String doc = Files.readString(Path.of("docs/configuration.md"));
    try (TestGateway gw = TestGateway.start(TestGateway.SIMPLE.replace("event_loops: 1", "event_loops: 1, metrics: false"))) {
      Set<String> sluice = exposed(gw.get("/metrics").body());
      if (doc.contains("with JVM\nmetrics only")) {
        assertThat(sluice).as("docs say JVM metrics only").isEmpty();
      }
    }
  }
}
