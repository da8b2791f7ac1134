package dev.sluice.ui;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A real headless Chromium with one page, driven over the Chrome DevTools Protocol: JSON messages
 * on the page's WebSocket (the JDK's own client), no WebDriver and no extra dependency.
 */
final class HeadlessChromium implements AutoCloseable {
  static final Path BINARY = Path.of(System.getProperty("sluice.chromium", "/usr/bin/chromium"));
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);

  private final Process process;
  private final Path profile;
  private final WebSocket socket;
  private final AtomicLong ids = new AtomicLong();
  private final Map<Long, CompletableFuture<JsonObject>> calls = new ConcurrentHashMap<>();
  private final List<Consumer<JsonObject>> listeners = new CopyOnWriteArrayList<>();
  private final Object sending = new Object();

  private HeadlessChromium(Process process, Path profile, URI page) throws Exception {
    this.process = process;
    this.profile = profile;
    this.socket = HttpClient.newHttpClient().newWebSocketBuilder()
        .connectTimeout(Duration.ofSeconds(10))
        .buildAsync(page, new Receiver())
        .get(20, TimeUnit.SECONDS);
  }

  /**
   * Starts Chromium with a fresh profile and the flags a closed network needs (no background
   * connections), and attaches to its first page.
   */
  static HeadlessChromium launch(int width, int height, Path log) throws Exception {
    Path profile = Files.createTempDirectory("sluice-chromium");
    List<String> command = List.of(BINARY.toString(),
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--user-data-dir=" + profile,
        "--remote-debugging-port=0",
        "--window-size=" + width + "," + height,
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
        "about:blank");
    Files.createDirectories(log.toAbsolutePath().getParent());
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      int port = devToolsPort(p, profile, log);
      return new HeadlessChromium(p, profile, pageTarget(port));
    } catch (Exception | Error e) {
      stop(p);
      deleteQuietly(profile);
      throw e;
    }
  }

  /** Chromium writes the port it chose to DevToolsActivePort in its profile. */
  private static int devToolsPort(Process p, Path profile, Path log) throws Exception {
    Path file = profile.resolve("DevToolsActivePort");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new IllegalStateException("Chromium exited with " + p.exitValue() + ":\n" + Files.readString(log));
      }
      if (Files.exists(file)) {
        List<String> lines = Files.readAllLines(file);
        if (!lines.isEmpty() && lines.get(0).trim().matches("\\d+")) {
          return Integer.parseInt(lines.get(0).trim());
        }
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("Chromium did not open its DevTools port in 60 s; see " + log);
  }

  private static URI pageTarget(int port) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      for (Object o : new JsonArray(r.body())) {
        JsonObject t = (JsonObject) o;
        if ("page".equals(t.getString("type"))) {
          // the listed URL says "localhost", which may resolve to ::1 where nothing listens
          return URI.create("ws://127.0.0.1:" + port + "/devtools/page/" + t.getString("id"));
        }
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("Chromium has no page target");
  }

  /** Receives every protocol event (method, params) on the socket's thread. */
  void onEvent(Consumer<JsonObject> listener) {
    listeners.add(listener);
  }

  /** Sends a command and waits for its result; a protocol error fails. */
  JsonObject call(String method, JsonObject params) {
    long id = ids.incrementAndGet();
    CompletableFuture<JsonObject> reply = new CompletableFuture<>();
    calls.put(id, reply);
    String message = new JsonObject().put("id", id).put("method", method).put("params", params).encode();
    try {
      synchronized (sending) { // the JDK's WebSocket takes one send at a time
        socket.sendText(message, true).get(10, TimeUnit.SECONDS);
      }
      JsonObject r = reply.get(CALL_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      if (r.containsKey("error")) {
        throw new IllegalStateException(method + ": " + r.getJsonObject("error").encode());
      }
      return r.getJsonObject("result", new JsonObject());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException(method + " failed: " + e, e);
    } finally {
      calls.remove(id);
    }
  }

  JsonObject call(String method) {
    return call(method, new JsonObject());
  }

  /** Evaluates a JavaScript expression in the page (awaiting a promise) and returns its JSON value. */
  Object eval(String expression) {
    JsonObject r = call("Runtime.evaluate", new JsonObject()
        .put("expression", expression).put("returnByValue", true).put("awaitPromise", true));
    if (r.containsKey("exceptionDetails")) {
      JsonObject d = r.getJsonObject("exceptionDetails");
      JsonObject ex = d.getJsonObject("exception");
      throw new IllegalStateException("page threw: " + (ex != null ? ex.getString("description") : d.getString("text"))
          + "\n  evaluating: " + expression);
    }
    return r.getJsonObject("result").getValue("value");
  }

  boolean isTrue(String expression) {
    return Boolean.TRUE.equals(eval(expression));
  }

  String text(String expression) {
    Object v = eval(expression);
    return v == null ? null : v.toString();
  }

  double number(String expression) {
    Object v = eval(expression);
    if (!(v instanceof Number n)) {
      throw new IllegalStateException("not a number: " + v + " from " + expression);
    }
    return n.doubleValue();
  }

  void navigate(String url) {
    call("Page.navigate", new JsonObject().put("url", url));
  }

  /** A real mouse click in the middle of the element, as a person would: it must be visible and on top. */
  void click(String selector) {
    JsonObject at = (JsonObject) eval("(() => { const e = document.querySelector(" + js(selector) + ");"
        + " if (!e) throw new Error('no element ' + " + js(selector) + ");"
        + " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
        + " const x = r.left + r.width / 2, y = r.top + r.height / 2;"
        + " const top = document.elementFromPoint(x, y);"
        + " if (!top || !(top === e || e.contains(top))) throw new Error(" + js(selector) + " + ' is covered by ' + (top && top.outerHTML.slice(0, 80)));"
        + " return {x, y}; })()");
    JsonObject base = new JsonObject().put("x", at.getDouble("x")).put("y", at.getDouble("y"));
    call("Input.dispatchMouseEvent", base.copy().put("type", "mouseMoved"));
    call("Input.dispatchMouseEvent", base.copy().put("type", "mousePressed").put("button", "left").put("clickCount", 1));
    call("Input.dispatchMouseEvent", base.copy().put("type", "mouseReleased").put("button", "left").put("clickCount", 1));
  }

  /** Focuses the element and types text into it as keyboard input. */
  void type(String selector, String text) {
    eval("document.querySelector(" + js(selector) + ").focus()");
    call("Input.insertText", new JsonObject().put("text", text));
  }

  void viewport(int width, int height) {
    call("Emulation.setDeviceMetricsOverride", new JsonObject()
        .put("width", width).put("height", height).put("deviceScaleFactor", 1).put("mobile", false));
  }

  /** The whole page (not just the viewport) as PNG. */
  void screenshot(Path file) throws IOException {
    JsonObject metrics = call("Page.getLayoutMetrics");
    JsonObject size = metrics.getJsonObject("cssContentSize", metrics.getJsonObject("contentSize"));
    JsonObject r = call("Page.captureScreenshot", new JsonObject()
        .put("format", "png")
        .put("captureBeyondViewport", true)
        .put("clip", new JsonObject().put("x", 0).put("y", 0)
            .put("width", Math.ceil(size.getDouble("width"))).put("height", Math.ceil(size.getDouble("height")))
            .put("scale", 1)));
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.write(file, Base64.getDecoder().decode(r.getString("data")));
  }

  /** A JavaScript string literal. */
  static String js(String s) {
    return new JsonArray().add(s).encode().replaceAll("^\\[|]$", "");
  }

  @Override
  public void close() {
    try {
      CompletableFuture.runAsync(() -> call("Browser.close")).get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      // the process is stopped below anyway
    }
    socket.abort();
    stop(process);
    deleteQuietly(profile);
  }

  private static void stop(Process p) {
    List<ProcessHandle> children = p.descendants().toList();
    p.destroy();
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    children.forEach(ProcessHandle::destroyForcibly); // normally gone with their parent already
  }

  private static void deleteQuietly(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // a temporary directory: best effort
    }
  }

  private final class Receiver implements WebSocket.Listener {
    private final StringBuilder text = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        JsonObject m = new JsonObject(text.toString());
        text.setLength(0);
        Long id = m.getLong("id");
        if (id != null) {
          CompletableFuture<JsonObject> f = calls.get(id);
          if (f != null) {
            f.complete(m);
          }
        } else {
          for (Consumer<JsonObject> l : listeners) {
            l.accept(m);
          }
        }
      }
      ws.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
      calls.values().forEach(f -> f.completeExceptionally(new IllegalStateException("DevTools socket closed")));
      return null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
      calls.values().forEach(f -> f.completeExceptionally(error));
    }
  }
}
