package dev.sluice.ui;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sluice.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The dashboard at {@code /ui/} in a real headless Chromium, against a real gateway with an admin
 * key and live traffic: the key prompt, charts that draw and move, the latest requests, an alert
 * raised by failures and acknowledged with its button, a gateway restart on the same port (the
 * page shows it is disconnected and recovers), a connection that goes silent without closing, and
 * a narrow window. Screenshots land in {@code target/dashboard*.png}.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class DashboardBrowserTest {
  private static final String KEY = "test-admin-key";
  private static final Map<String, String> ENV = Map.of("SLUICE_ADMIN_KEY", KEY);
  private static final String YAML = """
      server: { port: %d, event_loops: 1 }
      providers:
        sim: { type: sim, seed: 7 }
      models:
        demo:
          deployments:
            - { id: sim-fast, provider: sim, model: sim-fast }
        flaky:
          deployments:
            - { id: sim-flaky, provider: sim, model: sim-fast }
          resilience: { retry: { max_attempts: 1 } }
      """;
  private static final Path TARGET = Path.of("target");

  private static final String CONN = "document.querySelector('#conn').dataset.state";
  private static final String TICKS = "sluice.state.ticksSeen";
  /**
   * Pixels of the requests chart drawn in the colour of its "all" line (#334155); axes, grid and
   * labels are lighter. A hash of where they are changes when the line moves.
   */
  private static final String REQUESTS_INK = """
      (() => {
        const c = document.querySelector('#plot-requests canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0, hash = 17;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3] > 200 && Math.abs(d[i] - 0x33) + Math.abs(d[i + 1] - 0x41) + Math.abs(d[i + 2] - 0x55) < 40) {
            ink++;
            hash = (hash * 31 + i) | 0;
          }
        }
        return {ink, hash, last: sluice.charts.get('requests').u.data[0].at(-1)};
      })()""";

  private final List<String> requested = new CopyOnWriteArrayList<>();
  private final List<String> pageErrors = new CopyOnWriteArrayList<>();
  private TestGateway gateway;
  private Traffic traffic;
  private SilenceableProxy proxy;
  private HeadlessChromium chrome;

  @Test
  void liveDashboardInHeadlessChromium() throws Exception {
    assumeTrue(Files.isExecutable(HeadlessChromium.BINARY), () -> "Chromium is not installed at "
        + HeadlessChromium.BINARY + " (apt-get install chromium): the dashboard test needs a real browser, so it is skipped");

    int port = freePort();
    String yaml = YAML.formatted(port);
    gateway = TestGateway.start(yaml, ENV);
    String base = gateway.baseUrl();
    traffic = new Traffic(base);

    chrome = HeadlessChromium.launch(1440, 1000, TARGET.resolve("chromium.log"));
    chrome.onEvent(this::watch);
    chrome.call("Runtime.enable");
    chrome.call("Network.enable");
    chrome.call("Page.enable");

    // The page loads, finds the gateway wants a key (401) and asks for it.
    chrome.navigate(base + "/ui/");
    eventually("the admin key prompt", Duration.ofSeconds(30),
        () -> chrome.isTrue("!!window.sluice && !document.querySelector('#auth').hidden"));
    assertThat(chrome.text("document.querySelector('#conn').textContent")).isEqualTo("Admin key needed");
    chrome.type("#auth-key", KEY);
    chrome.click("#auth-form button[type=submit]");
    eventually("connected with the key", Duration.ofSeconds(20), () -> "connected".equals(chrome.text(CONN)));
    assertThat(chrome.text("localStorage.getItem('sluice.adminKey')")).isEqualTo(KEY);
    assertThat(chrome.isTrue("document.querySelector('#auth').hidden")).isTrue();

    // Charts draw: data points in uPlot and the line's pixels on its canvas.
    eventually("requests charted", Duration.ofSeconds(30), () -> chrome.isTrue(
        "sluice.charts.get('requests').u.data[1].filter(v => v > 0).length >= 3"));
    eventually("latency and first token charted for demo on sim", Duration.ofSeconds(30), () -> chrome.isTrue("""
        ['latency:demo on sim', 'first-token:demo on sim'].every(id => sluice.charts.has(id)
            && sluice.charts.get(id).u.data.slice(1).every(s => s.some(v => v != null)))"""));
    eventually("error and timeout rates charted", Duration.ofSeconds(30), () -> chrome.isTrue(
        "['errors', 'timeouts'].every(id => sluice.charts.get(id).u.data.slice(1).some(s => s.some(v => v > 0)))"));
    eventually("the requests line drawn", Duration.ofSeconds(10),
        () -> ((JsonObject) chrome.eval(REQUESTS_INK)).getInteger("ink") >= 30);
    assertThat(chrome.number("document.querySelectorAll('#latency-cards canvas').length")).isGreaterThanOrEqualTo(4);

    // ... and move while traffic flows.
    JsonObject before = (JsonObject) chrome.eval(REQUESTS_INK);
    double ticks = chrome.number(TICKS);
    eventually("charts updated by new ticks", Duration.ofSeconds(20), () -> {
      JsonObject now = (JsonObject) chrome.eval(REQUESTS_INK);
      return chrome.number(TICKS) >= ticks + 2 && now.getDouble("last") > before.getDouble("last")
          && !now.getInteger("hash").equals(before.getInteger("hash"));
    });
    assertThat(chrome.number("+document.querySelector('#g-inflight').textContent")).isGreaterThanOrEqualTo(0);
    assertThat(chrome.text("document.querySelector('#g-log').textContent")).startsWith("ok");

    // The latest requests fill in, and the deployments show their breakers.
    eventually("latest requests listed", Duration.ofSeconds(20),
        () -> chrome.number("document.querySelectorAll('#latest tbody tr').length") >= 10);
    String latest = chrome.text("document.querySelector('#latest tbody').textContent");
    assertThat(latest).contains("demo", "flaky", "success");
    assertThat(chrome.text("document.querySelector('#deployments tbody').textContent")).contains("sim-fast", "sim-flaky");

    // Failures raise an alert; narrow the list with the filters and acknowledge it with its button.
    eventually("an error-rate alert", Duration.ofSeconds(60), () -> chrome.isTrue(
        "[...document.querySelectorAll('#f-category option')].some(o => o.value === 'errors')"));
    select("#f-category", "errors");
    String alertItem = "[...document.querySelectorAll('#alert-list li')].find(li => li.textContent.includes('flaky on sim'))";
    eventually("the flaky alert listed", Duration.ofSeconds(10), () -> chrome.isTrue("!!" + alertItem));
    assertThat(chrome.isTrue("[...document.querySelectorAll('#alert-list li .badge.category')].every(b => b.textContent === 'errors')"))
        .isTrue();
    long alertId = (long) chrome.number("+" + alertItem + ".dataset.alert");
    select("#f-severity", "info");
    eventually("the severity filter hides it", Duration.ofSeconds(5), () -> chrome.isTrue(
        "document.querySelectorAll('#alert-list li').length === 0 && !document.querySelector('#alert-empty').hidden"));
    select("#f-severity", "");
    String item = "#alert-list li[data-alert='" + alertId + "']";
    eventually("the alert back", Duration.ofSeconds(5), () -> chrome.isTrue("!!document.querySelector(\"" + item + " button.ack\")"));
    chrome.click(item + " button.ack");
    eventually("acknowledged on the gateway", Duration.ofSeconds(15), () -> acknowledged(base).contains(alertId));
    eventually("shown acknowledged", Duration.ofSeconds(10), () -> chrome.isTrue(
        "(document.querySelector(\"" + item + "\")?.textContent ?? '').includes('acknowledged') && !document.querySelector(\"" + item + " button.ack\")"));
    select("#f-category", "");
    chrome.screenshot(TARGET.resolve("dashboard.png"));

    // The gateway goes away: the page says so and retries with backoff...
    gateway.close();
    gateway = null;
    eventually("shown disconnected", Duration.ofSeconds(20), () -> chrome.isTrue(
        CONN + " === 'reconnecting' && document.querySelector('#conn').textContent === 'Disconnected'"
            + " && /reconnecting in \\d+ s/.test(document.querySelector('#conn-detail').textContent)"
            + " && document.body.classList.contains('stale')"));
    chrome.screenshot(TARGET.resolve("dashboard-reconnecting.png"));
    double ticksWhileDown = chrome.number(TICKS);
    eventually("several attempts", Duration.ofSeconds(20), () -> chrome.number("sluice.conn.attempt") >= 3);
    assertThat(chrome.number(TICKS)).isEqualTo(ticksWhileDown);

    // ... and recovers when it is back on the same port, rebuilt from the new gateway's history.
    long restartedAt = System.currentTimeMillis();
    gateway = TestGateway.start(yaml, ENV);
    eventually("reconnected", Duration.ofSeconds(40), () -> "connected".equals(chrome.text(CONN)));
    double ticksAfterRestart = chrome.number(TICKS);
    eventually("new ticks after the restart", Duration.ofSeconds(15), () -> chrome.number(TICKS) >= ticksAfterRestart + 2);
    assertThat(chrome.number("sluice.state.ticks[0].ts")).isGreaterThanOrEqualTo(restartedAt);
    assertThat(chrome.number("sluice.charts.get('requests').u.data[0][0] * 1000")).isGreaterThanOrEqualTo(restartedAt);
    assertThat(chrome.isTrue("document.body.classList.contains('stale')")).isFalse();
    chrome.screenshot(TARGET.resolve("dashboard-recovered.png"));

    // A connection that stays open but goes silent is noticed (~15 s) and replaced. The proxy is
    // another origin, so the key is seeded in that origin's storage this time.
    proxy = new SilenceableProxy(port);
    String viaProxy = "http://127.0.0.1:" + proxy.port();
    chrome.navigate(viaProxy + "/ui/");
    eventually("the key prompt via the proxy", Duration.ofSeconds(20), () -> "auth".equals(chrome.text(CONN)));
    chrome.eval("localStorage.setItem('sluice.adminKey', " + HeadlessChromium.js(KEY) + "); setTimeout(() => location.reload(), 0)");
    eventually("connected via the proxy", Duration.ofSeconds(20), () -> "connected".equals(chrome.text(CONN)));
    double generation = chrome.number("sluice.conn.generation");
    long silencedAt = System.nanoTime();
    proxy.silence();
    eventually("silence noticed", Duration.ofSeconds(30), () -> chrome.number("sluice.conn.generation") > generation);
    assertThat(Duration.ofNanos(System.nanoTime() - silencedAt)).isGreaterThan(Duration.ofSeconds(10));
    eventually("reconnected after the silence", Duration.ofSeconds(30), () -> "connected".equals(chrome.text(CONN)));
    double ticksAfterSilence = chrome.number(TICKS);
    eventually("ticks after the silence", Duration.ofSeconds(15), () -> chrome.number(TICKS) >= ticksAfterSilence + 2);

    // A narrow window: no sideways scrolling, charts as wide as the screen.
    chrome.viewport(390, 844);
    eventually("laid out for a narrow window", Duration.ofSeconds(10), () -> chrome.isTrue(
        "document.documentElement.scrollWidth <= innerWidth && sluice.charts.get('requests').u.width <= 390"
            + " && sluice.charts.get('requests').u.width >= 250"));
    chrome.screenshot(TARGET.resolve("dashboard-narrow.png"));

    // Nothing but the gateway (and its proxy) was asked for anything, and the page threw nothing.
    Set<String> origins = Set.of(base, viaProxy, base.replace("http:", "ws:"), viaProxy.replace("http:", "ws:"));
    assertThat(requested).isNotEmpty().allSatisfy(url -> assertThat(
        url.startsWith("data:") || url.equals("about:blank") || origins.stream().anyMatch(o -> url.startsWith(o + "/")))
        .as("request to %s stays on the gateway", url).isTrue());
    assertThat(pageErrors).isEmpty();
  }

  @AfterEach
  void tearDown() {
    for (AutoCloseable c : new AutoCloseable[] {chrome, proxy, traffic, gateway}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          // keep closing the rest
        }
      }
    }
  }

  private void watch(JsonObject event) {
    JsonObject p = event.getJsonObject("params", new JsonObject());
    switch (event.getString("method", "")) {
      case "Network.requestWillBeSent" -> requested.add(p.getJsonObject("request").getString("url"));
      case "Network.webSocketCreated" -> requested.add(p.getString("url"));
      case "Runtime.exceptionThrown" -> pageErrors.add(p.getJsonObject("exceptionDetails").encode());
      case "Runtime.consoleAPICalled" -> {
        if ("error".equals(p.getString("type"))) {
          pageErrors.add("console.error " + p.getJsonArray("args").encode());
        }
      }
      default -> { }
    }
  }

  /** Chooses an option as the select's own change would. */
  private void select(String selector, String value) {
    chrome.eval("(() => { const s = document.querySelector(" + HeadlessChromium.js(selector) + "); s.value = "
        + HeadlessChromium.js(value) + "; s.dispatchEvent(new Event('change', {bubbles: true})); })()");
  }

  private static List<Long> acknowledged(String base) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(base + "/admin/alerts?acknowledged=true"))
            .header("authorization", "Bearer " + KEY).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    JsonArray data = new JsonObject(r.body()).getJsonArray("data");
    return data.stream().map(o -> ((JsonObject) o))
        .filter(a -> a.getBoolean("acknowledged"))
        .map(a -> a.getLong("id")).toList();
  }

  /** Waits for a condition in the page; on failure says where the page was and keeps a screenshot. */
  private void eventually(String what, Duration within, Callable<Boolean> condition) {
    try {
      await(what).atMost(within).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(condition);
    } catch (ConditionTimeoutException e) {
      String page;
      try {
        chrome.screenshot(TARGET.resolve("dashboard-failure.png"));
        page = chrome.text("JSON.stringify({conn: document.querySelector('#conn').textContent,"
            + " detail: document.querySelector('#conn-detail').textContent, ticks: sluice.state.ticksSeen,"
            + " attempt: sluice.conn.attempt, alerts: sluice.state.alerts.size})");
      } catch (Exception | Error ex) {
        page = "unreadable: " + ex;
      }
      throw new AssertionError("timed out waiting for " + what + " after " + within.toSeconds() + " s; page: "
          + page + "; errors: " + pageErrors + " (screenshot target/dashboard-failure.png)", e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /**
   * Steady traffic at the gateway's port from one thread: successes on {@code demo} (half of them
   * streamed), 503s on {@code flaky} (no retries) so the auditor raises an alert, and now and then a
   * request that runs out of its own budget. Survives the gateway being away.
   */
  private static final class Traffic implements AutoCloseable {
    // HTTP/1.1 as clients of the gateway use it (the JDK's default tries an h2c upgrade)
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2)).build();
    private final String base;
    private final Thread thread;
    private volatile boolean running = true;

    Traffic(String base) {
      this.base = base;
      this.thread = new Thread(this::run, "dashboard-test-traffic");
      thread.setDaemon(true);
      thread.start();
    }

    private void run() {
      for (int i = 0; running; i++) {
        post("demo", i % 2 == 0 ? "\"stream\":true" : null);
        if (i % 2 == 0) {
          post("flaky", "\"sim\":{\"error_rate\":1,\"error_statuses\":[503]}");
        }
        if (i % 10 == 5) {
          post("demo", "\"timeout\":0.15,\"sim\":{\"first_token\":\"1s\"}");
        }
        pause(30);
      }
    }

    private void post(String model, String extra) {
      String body = "{\"model\":\"" + model + "\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
          + (extra == null ? "" : "," + extra) + "}";
      try {
        http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
            .header("content-type", "application/json")
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.discarding());
      } catch (IOException e) {
        pause(200); // the gateway is restarting
      } catch (InterruptedException e) {
        running = false;
      }
    }

    private void pause(long ms) {
      try {
        Thread.sleep(ms);
      } catch (InterruptedException e) {
        running = false;
      }
    }

    @Override
    public void close() throws InterruptedException {
      running = false;
      thread.interrupt();
      thread.join(10_000);
    }
  }

  /**
   * A TCP proxy in front of the gateway that can make the connections open now go silent: they
   * stay open but nothing passes either way, like a dropped NAT entry. Later connections pass.
   */
  private static final class SilenceableProxy implements AutoCloseable {
    private final Vertx vertx = Vertx.vertx();
    private final NetServer server;
    private final Set<NetSocket[]> open = ConcurrentHashMap.newKeySet();
    private final Set<NetSocket> silenced = ConcurrentHashMap.newKeySet();

    SilenceableProxy(int target) {
      var client = vertx.createNetClient();
      server = vertx.createNetServer().connectHandler(in -> {
        in.pause();
        client.connect(target, "127.0.0.1").onComplete(ar -> {
          if (ar.failed()) {
            in.close();
            return;
          }
          NetSocket out = ar.result();
          NetSocket[] pair = {in, out};
          open.add(pair);
          in.handler(b -> {
            if (!silenced.contains(in)) {
              out.write(b);
            }
          });
          out.handler(b -> {
            if (!silenced.contains(in)) {
              in.write(b);
            }
          });
          in.closeHandler(v -> {
            open.remove(pair);
            out.close();
          });
          out.closeHandler(v -> {
            open.remove(pair);
            in.close();
          });
          in.resume();
        });
      }).listen(0, "127.0.0.1").await();
    }

    int port() {
      return server.actualPort();
    }

    void silence() {
      open.forEach(pair -> silenced.add(pair[0]));
    }

    @Override
    public void close() {
      vertx.close().await();
    }
  }
}
