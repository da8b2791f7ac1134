package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BaselineComparisonTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode result(double rps, double success, double p50, double p99, double max) throws Exception {
    return JSON.readTree("{\"throughput_rps\":" + rps + ",\"success_rate\":" + success
        + ",\"latency_ms\":{\"p50\":" + p50 + ",\"p90\":" + p50 + ",\"p99\":" + p99 + ",\"p99_9\":" + p99
        + ",\"max\":" + max + "},\"lateness_ms\":{\"p99\":0.1}}");
  }

  private static BaselineComparison.Row row(BaselineComparison c, String path) {
    return c.rows().stream().filter(r -> r.figure().path().equals(path)).findFirst().orElseThrow();
  }

  @Test
  void sameResultHasNoRegression() throws Exception {
    JsonNode r = result(200, 1, 5, 9, 20);
    BaselineComparison c = BaselineComparison.of(r, r, 20);
    assertThat(c.anyRegressed()).isFalse();
    assertThat(row(c, "latency_ms.p99").changePct()).isZero();
  }

  @Test
  void latencyUpBeyondTheThresholdRegresses() throws Exception {
    BaselineComparison c = BaselineComparison.of(result(200, 1, 5, 10, 20), result(200, 1, 5.5, 12.5, 20), 20);
    assertThat(row(c, "latency_ms.p50").regressed()).isFalse(); // +10%
    assertThat(row(c, "latency_ms.p99").changePct()).isEqualTo(25.0);
    assertThat(row(c, "latency_ms.p99").regressed()).isTrue();
    assertThat(c.anyRegressed()).isTrue();
  }

  @Test
  void exactlyAtTheThresholdIsNotARegression() throws Exception {
    BaselineComparison c = BaselineComparison.of(result(100, 1, 10, 10, 20), result(80, 1, 12, 12, 20), 20);
    assertThat(row(c, "throughput_rps").changePct()).isEqualTo(-20.0);
    assertThat(c.anyRegressed()).isFalse();
  }

  @Test
  void throughputOrSuccessDownRegressesButUpDoesNot() throws Exception {
    BaselineComparison down = BaselineComparison.of(result(200, 1, 5, 9, 20), result(150, 0.7, 5, 9, 20), 20);
    assertThat(row(down, "throughput_rps").regressed()).isTrue();
    assertThat(row(down, "success_rate").regressed()).isTrue();
    BaselineComparison up = BaselineComparison.of(result(150, 0.7, 5, 9, 20), result(200, 1, 2, 3, 20), 20);
    assertThat(up.anyRegressed()).isFalse();
  }

  @Test
  void maximaAreShownButNotJudged() throws Exception {
    BaselineComparison c = BaselineComparison.of(result(200, 1, 5, 9, 20), result(200, 1, 5, 9, 200), 20);
    assertThat(row(c, "latency_ms.max").changePct()).isEqualTo(900.0);
    assertThat(c.anyRegressed()).isFalse();
    assertThat(c.render("base", 20)).contains("(not judged)").contains("no regression");
  }

  @Test
  void aZeroBaselineOnlyRegressesWhenItGrows() {
    assertThat(BaselineComparison.changePct(0, 0)).isNaN();
    assertThat(BaselineComparison.changePct(0, 1)).isInfinite();
    assertThat(BaselineComparison.regressed(BaselineComparison.Better.LOWER, Double.NaN, 20)).isFalse();
    assertThat(BaselineComparison.regressed(BaselineComparison.Better.LOWER, Double.POSITIVE_INFINITY, 20)).isTrue();
  }

  @Test
  void figuresMissingFromEitherSideAreSkipped() throws Exception {
    JsonNode stream = JSON.readTree("{\"ttft_ms\":{\"p50\":3}}");
    BaselineComparison c = BaselineComparison.of(result(200, 1, 5, 9, 20), stream, 20);
    assertThat(c.rows()).isEmpty();
  }

  @Test
  void baselinesAreSavedAndLoadedByName(@TempDir Path dir) throws Exception {
    Baselines b = new Baselines(dir);
    JsonNode r = result(200, 1, 5, 9, 20);
    Path p = b.save("main-2024.1", r);
    assertThat(p).isEqualTo(dir.resolve("baselines/main-2024.1.json"));
    assertThat(Files.readString(p)).contains("throughput_rps");
    assertThat(b.load("main-2024.1")).isEqualTo(r);
  }

  @Test
  void baselineNamesCannotEscapeTheirFolder(@TempDir Path dir) {
    Baselines b = new Baselines(dir);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.path("../x"))
        .isInstanceOf(IllegalArgumentException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.load("missing"))
        .isInstanceOf(java.nio.file.NoSuchFileException.class).hasMessageContaining("no baseline named 'missing'");
  }

  @Test
  void aBaselineThatIsNotAResultIsRefusedNotComparedAsNothing(@TempDir Path dir) throws Exception {
    Baselines b = new Baselines(dir);
    Files.createDirectories(dir.resolve("baselines"));
    for (String[] c : new String[][] {{"empty", ""}, {"object", "{}"}, {"array", "[1,2]"},
        {"words", "{\"throughput_rps\":\"fast\",\"success_rate\":1,\"latency_ms\":{}}"}, {"broken", "{\"a\":"}}) {
      Files.writeString(dir.resolve("baselines/" + c[0] + ".json"), c[1]);
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.load(c[0])).as(c[0])
          .isInstanceOf(java.io.IOException.class).hasMessageContaining("baseline '" + c[0] + "' is not");
    }
  }

  @Test
  void aHistogramWithoutSamplesIsNotCompared() throws Exception {
    // a baseline taken while every request failed: its latency percentiles are written as 0 over count 0
    JsonNode failed = JSON.readTree("{\"throughput_rps\":0,\"success_rate\":0,\"latency_ms\":{\"count\":0,"
        + "\"p50\":0,\"p90\":0,\"p99\":0,\"p99_9\":0,\"max\":0}}");
    JsonNode healthy = JSON.readTree("{\"throughput_rps\":100,\"success_rate\":1,\"latency_ms\":{\"count\":1000,"
        + "\"p50\":5,\"p90\":6,\"p99\":9,\"p99_9\":12,\"max\":20}}");
    BaselineComparison better = BaselineComparison.of(failed, healthy, 20);
    assertThat(better.anyRegressed()).as(better.render("failed", 20)).isFalse();
    assertThat(better.rows()).extracting(r -> r.figure().path()).containsExactly("throughput_rps", "success_rate");
    BaselineComparison worse = BaselineComparison.of(healthy, failed, 20);
    assertThat(worse.rows()).extracting(r -> r.figure().path()).containsExactly("throughput_rps", "success_rate");
    assertThat(worse.anyRegressed()).isTrue();
  }
}
