package dev.sluice.ui;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sluice.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The admin key never goes in a URL the page asks for, the live view's WebSocket included: a
 * reverse proxy in front of the gateway logs the request line of every upgrade, so a key there
 * would be in its access log in the clear.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class DashboardKeyBrowserTest {
  // not plain ASCII, so that the way the page carries it must keep every byte
  private static final String KEY = "ключ-test/admin+key=";

  private final List<String> urls = new CopyOnWriteArrayList<>();
  private TestGateway gateway;
  private HeadlessChromium chrome;

  @Test
  void theKeyReachesTheLiveViewWithoutBeingInItsUrl() throws Exception {
    assumeTrue(Files.isExecutable(HeadlessChromium.BINARY), () -> "Chromium is not installed at "
        + HeadlessChromium.BINARY + ": the dashboard test needs a real browser, so it is skipped");
    gateway = TestGateway.start(TestGateway.SIMPLE, Map.of("SLUICE_ADMIN_KEY", KEY));
    chrome = HeadlessChromium.launch(1280, 900, Path.of("target", "chromium-key.log"));
    chrome.onEvent(this::watch);
    chrome.call("Network.enable");
    chrome.navigate(gateway.baseUrl() + "/ui/");
    eventually("the key prompt", () -> chrome.isTrue("!!window.sluice && sluice.conn.state === 'auth'"));
    chrome.type("#auth-key", KEY);
    chrome.click("#auth-form button[type=submit]");
    eventually("connected with the key", () -> chrome.isTrue("sluice.conn.state === 'connected'"));
    eventually("ticks", () -> chrome.number("sluice.state.ticksSeen") >= 2);

    assertThat(urls).anyMatch(u -> u.startsWith("ws://"));
    assertThat(urls).noneMatch(u -> u.contains("access_token") || java.net.URLDecoder.decode(u,
        java.nio.charset.StandardCharsets.UTF_8).contains(KEY));
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
    switch (event.getString("method", "")) {
      case "Network.requestWillBeSent" -> urls.add(p.getJsonObject("request").getString("url"));
      case "Network.webSocketCreated" -> urls.add(p.getString("url"));
      default -> { }
    }
  }

  private void eventually(String what, java.util.concurrent.Callable<Boolean> condition) {
    await(what).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(condition);
  }
}
