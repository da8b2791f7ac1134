package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.telemetry.Alerts;
import dev.sluice.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import org.junit.jupiter.api.Test;

/**
 * The dashboard acknowledges an alert by id. A page still showing the alerts of a gateway that
 * restarted (it keeps them, and its Acknowledge buttons, until it reconnects: up to 15 s of
 * backoff) must not acknowledge a different alert that happens to get the same id in the new
 * process.
 */
class AlertIdsAcrossRestartTest {
  @Test
  void aStaleAlertIdFromBeforeARestartDoesNotAcknowledgeANewAlert() {
    long staleId;
    try (TestGateway before = TestGateway.start(TestGateway.SIMPLE)) {
      before.gateway().alerts().raise("breaker:sim-a", Alerts.Severity.WARNING, "breaker", "sim-a",
          "the breaker of sim-a opened", System.currentTimeMillis());
      staleId = before.gateway().alerts().list(null, "breaker", null).getJsonObject(0).getLong("id");
    }
    try (TestGateway after = TestGateway.start(TestGateway.SIMPLE)) {
      after.gateway().alerts().raise("memory:heap", Alerts.Severity.CRITICAL, "memory", "heap",
          "heap use after GC is 97%", System.currentTimeMillis());
      // the operator clicks Acknowledge on the old breaker alert before the page has reconnected
      var r = after.send(HttpRequest.newBuilder(URI.create(after.baseUrl() + "/admin/alerts/" + staleId + "/ack"))
          .POST(HttpRequest.BodyPublishers.noBody()));
      JsonObject critical = after.gateway().alerts().list(null, "memory", null).getJsonObject(0);
      assertThat(critical.getBoolean("acknowledged"))
          .as("the new critical alert was acknowledged by a click on a different, older alert (reply %d %s)",
              r.statusCode(), r.body())
          .isFalse();
    }
  }
}
