package dev.sluice.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AuditorTest {
  @Test
  void rateRulesRaiseAlertsThatNameTheirSubject() {
    Alerts alerts = new Alerts();
    Auditor auditor = new Auditor(alerts);

    auditor.evaluate(Map.of("flaky on sim", new long[] {40, 40, 8, 4}), 1_000L);

    var list = alerts.list(null, null, null);
    assertThat(list).hasSize(3);
    assertThat(list.stream().map(o -> ((JsonObject) o).getString("message"))).containsExactlyInAnyOrder(
        "100% of requests to flaky on sim failed in the last minute",
        "20% of requests to flaky on sim timed out in the last minute; check its guards or the provider",
        "10% of streams from flaky on sim were cut short in the last minute");
    assertThat(alerts.list("critical", "errors", false)).hasSize(1);
  }

  @Test
  void littleTrafficIsNotJudgedAndHealthyTrafficResolves() {
    Alerts alerts = new Alerts();
    Auditor auditor = new Auditor(alerts);
    auditor.evaluate(Map.of("m on p", new long[] {Auditor.MIN_REQUESTS - 1, 10, 0, 0}), 1_000L);
    assertThat(alerts.list(null, null, null)).isEmpty();

    auditor.evaluate(Map.of("m on p", new long[] {100, 30, 0, 0}), 2_000L);
    assertThat(alerts.isOpen("errors:m on p")).isTrue();
    auditor.evaluate(Map.of("m on p", new long[] {100, 0, 0, 0}), 3_000L);
    assertThat(alerts.isOpen("errors:m on p")).isFalse();
    assertThat(((JsonObject) alerts.list(null, null, null).getValue(0)).getLong("resolved_at")).isEqualTo(3_000L);
  }
}
