package dev.sluice.ui;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sluice.telemetry.Alerts;
import dev.sluice.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The gateway keeps its newest 500 alerts. A dashboard left open for days on a gateway whose
 * alerts come and go (a flaky provider raises a new one each time its error rate climbs back)
 * must keep the same ones: not every alert it ever saw, which grows without end and counts alerts
 * the gateway forgot ("520 open"), each with an Acknowledge button that can only fail.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class DashboardAlertListBrowserTest {
  private final List<String> pageErrors = new CopyOnWriteArrayList<>();
  private TestGateway gateway;
  private HeadlessChromium chrome;

  @Test
  void thePageForgetsTheAlertsTheGatewayNoLongerKeeps() throws Exception {
    assumeTrue(Files.isExecutable(HeadlessChromium.BINARY), () -> "Chromium is not installed at "
        + HeadlessChromium.BINARY + ": the dashboard test needs a real browser, so it is skipped");
    gateway = TestGateway.start(TestGateway.SIMPLE); // no admin key: the page on loopback is let in
    chrome = HeadlessChromium.launch(1280, 900, Path.of("target", "chromium-alerts.log"));
    chrome.onEvent(this::watch);
    chrome.call("Runtime.enable");
    chrome.navigate(gateway.baseUrl() + "/ui/");
    eventually("connected", () -> chrome.isTrue("!!window.sluice && sluice.conn.state === 'connected'"));

    Alerts alerts = gateway.gateway().alerts();
    long now = System.currentTimeMillis();
    for (int i = 0; i < 520; i++) { // each a condition that came back after it was resolved
      alerts.raise("errors:flaky-" + i, Alerts.Severity.WARNING, "errors", "flaky " + i,
          "30% of requests to flaky " + i + " failed in the last minute", now);
      if (i % 10 == 9) { // a few at a time, as a page takes them (none missed: see LiveSlowReaderTest)
        long newest = alerts.list(null, null, null).getJsonObject(0).getLong("id");
        eventually("alert " + newest + " on the page", () -> chrome.isTrue("sluice.state.alerts.has(" + newest + ")"));
      }
    }
    int kept = alerts.list(null, null, null).size();
    assertThat(kept).isEqualTo(500);

    assertThat(chrome.number("sluice.state.alerts.size")).as("alerts the page holds").isEqualTo(kept);
    assertThat(chrome.text("document.querySelector('#alert-count').textContent"))
        .isEqualTo(kept + " open, " + kept + " not acknowledged");
    assertThat(pageErrors).isEmpty();
  }

  @AfterEach
  void tearDown() {
    if (chrome != null) {
      chrome.close();
    }
    if (gateway != null) {
      gateway.close();
    }
  }

  private void watch(JsonObject event) {
    JsonObject p = event.getJsonObject("params", new JsonObject());
    if ("Runtime.exceptionThrown".equals(event.getString("method"))) {
      pageErrors.add(p.getJsonObject("exceptionDetails").encode());
    }
  }

  private void eventually(String what, java.util.concurrent.Callable<Boolean> condition) {
    await(what).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(condition);
  }
}
