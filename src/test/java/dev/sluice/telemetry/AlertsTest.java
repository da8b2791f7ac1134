package dev.sluice.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AlertsTest {
  @Test
  void anAcknowledgedAlertThatEscalatesMustBeAcknowledgedAgain() {
    Alerts alerts = new Alerts();
    List<JsonObject> changes = new ArrayList<>();
    alerts.onChange(changes::add);
    alerts.raise("k", Alerts.Severity.WARNING, "errors", "demo", "5% errors", 1_000);
    long id = changes.get(0).getLong("id");
    assertThat(alerts.acknowledge(id)).isTrue();

    alerts.raise("k", Alerts.Severity.WARNING, "errors", "demo", "6% errors", 2_000); // the same: nothing changes
    assertThat(changes).hasSize(2);
    alerts.raise("k", Alerts.Severity.CRITICAL, "errors", "demo", "60% errors", 3_000);

    JsonObject last = changes.get(changes.size() - 1);
    assertThat(last.getLong("id")).isEqualTo(id);
    assertThat(last.getString("severity")).isEqualTo("critical");
    assertThat(last.getBoolean("acknowledged")).isFalse();
  }
}
