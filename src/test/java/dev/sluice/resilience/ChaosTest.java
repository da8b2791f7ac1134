package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.provider.sim.SimStats;
import dev.sluice.telemetry.Outcome;
import dev.sluice.testing.AtRest;
import dev.sluice.testing.Calls;
import dev.sluice.testing.TestGateway;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of mixed requests — streaming and not, random deadlines, clients that hang up at random
 * moments — against deployments that hang, fail half the time, rate-limit, reset mid-stream and have
 * a slow tail. Every request must end with a correct outcome within its deadline plus a tolerance,
 * and afterwards nothing may be left held: the ledger is at rest and the provider has no open
 * exchange.
 */
class ChaosTest {
  private static final int REQUESTS = 2000;
  private static final int WARM_UP = 300;
  private static final int CONCURRENCY = 100;
  private static final long TOLERANCE_MS = 1_000;
  private static final double DISCONNECT_SHARE = 0.15;

  @TempDir
  Path dir;

  /** What one client saw. */
  record Seen(int index, boolean stream, long deadlineMs, long disconnectAtMs, boolean disconnected, int status,
      Map<String, String> headers, String body, long elapsedMs, String problem) {}

  /**
   * @param http2 whether the gateway speaks HTTP/2 to the provider (cancelling an attempt resets
   *              one stream of a shared connection instead of closing a connection)
   */
  @ParameterizedTest(name = "upstream HTTP/2: {0}")
  @ValueSource(booleans = {false, true})
  void everyRequestEndsCorrectlyOnTimeAndNothingLeaks(boolean http2) throws Exception {
    String profile = Calls.profile(dir, """
        seed: 99
        defaults: { first_token: { median: 30ms, p99: 80ms }, tokens_per_second: 300,
                    min_output_tokens: 10, max_output_tokens: 40 }
        models:
          hangs: { hang_before_headers: 0.3, hang_mid_stream: 0.2 }
          flaky: { error_rate: 0.5, error_statuses: [500, 502, 503] }
          limited: { rate_limit_rate: 0.3, retry_after: 1 }
          resets: { reset_mid_stream: 0.5 }
          tail: { first_token: { median: 30ms, p99: 60ms, tail_probability: 0.1, tail_multiplier: 20 } }
          backup: {}
        """);
    String guards = "timeouts: { connect: 300ms, first_byte: 600ms, first_token: 400ms, idle: 400ms }";
    TestGateway gw = TestGateway.start("""
        server: { port: 0, event_loops: 2 }
        providers:
          sim: { type: sim, profile: %1$s, http2: %3$s }
        resilience:
          budget: { ratio: 0.5, min_per_second: 20 }
          breaker: { window: 20, minimum_calls: 10, failure_rate: 60, open_for: 2s, half_open_calls: 2 }
          retry: { max_attempts: 3, backoff: { base: 20ms, max: 200ms } }
        models:
          chaos:
            deployments:
              - { id: hangs, provider: sim, model: hangs, %2$s }
              - { id: flaky, provider: sim, model: flaky, %2$s }
              - { id: limited, provider: sim, model: limited, %2$s }
              - { id: resets, provider: sim, model: resets, %2$s }
              - { id: tail, provider: sim, model: tail, %2$s }
            fallbacks: [chaos-backup]
            resilience:
              routing: p2c
              hedge: { enabled: true, delay: 150ms }
          chaos-backup:
            deployments:
              - { id: backup, provider: sim, model: backup }
        """.formatted(profile, guards, http2));
    try {
      run(gw);
    } finally {
      gw.close();
    }
  }

  private void run(TestGateway gw) throws Exception {
    int port = gw.gateway().port();
    // a fresh JVM compiles and loads classes during its first hundred requests, on the event loops:
    // a warm-up burst of the same mix is judged for its outcomes but not timed
    List<Seen> warmUp = burst(port, WARM_UP, 7);
    List<String> warmUpProblems = warmUp.stream().filter(x -> !x.disconnected())
        .map(x -> x.problem() != null ? x.problem() : judge(x, Long.MAX_VALUE / 4)).filter(p -> p != null).toList();
    assertThat(warmUpProblems).as("warm-up requests that ended wrong").isEmpty();
    gw.awaitAtRest();

    long t0 = System.nanoTime();
    List<Seen> seen = burst(port, REQUESTS, 20_25);
    long wallMs = (System.nanoTime() - t0) / 1_000_000;

    // ---- every client's outcome ---------------------------------------------------------------
    Map<String, Integer> outcomes = new TreeMap<>();
    List<String> problems = Collections.synchronizedList(new ArrayList<>());
    int completed = 0;
    int disconnected = 0;
    long maxOverrunMs = Long.MIN_VALUE;
    for (Seen s : seen) {
      if (s.disconnected()) {
        disconnected++;
        outcomes.merge("client hung up", 1, Integer::sum);
        continue;
      }
      completed++;
      String problem = s.problem() != null ? s.problem() : judge(s, TOLERANCE_MS);
      if (problem != null) {
        problems.add("#" + s.index() + " (stream " + s.stream() + ", deadline " + s.deadlineMs() + " ms, "
            + s.elapsedMs() + " ms, " + s.status() + " " + s.headers().get("x-sluice-attempts") + "): " + problem);
      }
      maxOverrunMs = Math.max(maxOverrunMs, s.elapsedMs() - s.deadlineMs());
      outcomes.merge(label(s), 1, Integer::sum);
    }
    SimStats sim = gw.sim().stats();
    List<Long> overruns = seen.stream().filter(x -> !x.disconnected()).map(x -> x.elapsedMs() - x.deadlineMs())
        .sorted().toList();
    double gatewayWorst = gw.gateway().recent().latest(1024).stream().filter(r -> r.deadlineMs() > 0)
        .mapToDouble(r -> r.latencyMs() - r.deadlineMs()).max().orElse(0);
    System.out.printf("overrun past the deadline at the client: p50 %d, p99 %d, max %d ms; %d over 100 ms;"
        + " at the gateway (last 1024 records): max %.1f ms%n", overruns.get(overruns.size() / 2),
        overruns.get(overruns.size() * 99 / 100), overruns.get(overruns.size() - 1),
        overruns.stream().filter(o -> o > 100).count(), gatewayWorst);
    System.out.println("late (> 300 ms) by index: " + seen.stream().filter(x -> !x.disconnected()
        && x.elapsedMs() - x.deadlineMs() > 300).map(x -> x.index() + ":" + (x.elapsedMs() - x.deadlineMs())).toList());
    System.out.printf("chaos (upstream %s): %d requests in %d ms, %d answered, %d hung up; worst overrun %d ms%n",
        gw.gateway().config().providers().get("sim").http2() ? "HTTP/2" : "HTTP/1.1", REQUESTS, wallMs,
        completed, disconnected, maxOverrunMs);
    outcomes.forEach((k, v) -> System.out.printf("  %-40s %5d%n", k, v));
    System.out.println("  simulator: " + sim.toJson().encode());
    System.out.println("  gateway records: " + gw.gateway().recent().counts());
    assertThat(problems).as("requests that ended wrong or late").isEmpty();
    assertThat(completed).as("most clients stayed for their answer").isGreaterThan(REQUESTS * 3 / 4);
    assertThat(outcomes.getOrDefault("200 success", 0) + outcomes.getOrDefault("200 stream complete", 0))
        .as("a good share still succeeds").isGreaterThan(completed / 3);

    // ---- nothing left held, anywhere --------------------------------------------------------------
    AtRest.check(gw);
    long recorded = gw.gateway().recent().counts().values().stream().mapToLong(Long::longValue).sum();
    long warmUpAnswered = warmUp.stream().filter(x -> !x.disconnected()).count();
    assertThat(recorded).as("one record per request that reached the gateway")
        .isBetween(completed + warmUpAnswered, (long) REQUESTS + WARM_UP);
    assertThat(gw.gateway().recent().count(Outcome.CLIENT_CLOSED))
        .isLessThanOrEqualTo(disconnected + WARM_UP - warmUpAnswered);
    assertThat(sim.requests()).as("upstream attempts").isLessThanOrEqualTo(3L * (REQUESTS + WARM_UP));
    assertThat(sim.abortedByCaller()).as("the gateway hung up on the provider too").isPositive();
  }

  /** {@code n} requests of the mix, {@link #CONCURRENCY} at a time; the plan comes from {@code seed}. */
  private static List<Seen> burst(int port, int n, long seed) throws Exception {
    SplittableRandom plan = new SplittableRandom(seed);
    ExecutorService clients = Executors.newFixedThreadPool(CONCURRENCY);
    ScheduledExecutorService hangUps = Executors.newScheduledThreadPool(2);
    try {
      List<Future<Seen>> futures = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        int index = i;
        boolean stream = plan.nextBoolean();
        long deadline = 200 + plan.nextLong(2_801);
        long disconnectAt = plan.nextDouble() < DISCONNECT_SHARE ? plan.nextLong(Math.min(deadline, 600)) : -1;
        boolean rst = plan.nextBoolean();
        futures.add(clients.submit(() -> call(port, index, stream, deadline, disconnectAt, rst, hangUps)));
      }
      List<Seen> seen = new ArrayList<>(n);
      for (Future<Seen> f : futures) {
        seen.add(f.get(2, TimeUnit.MINUTES));
      }
      return seen;
    } finally {
      clients.shutdown();
      hangUps.shutdown();
    }
  }

  private static String label(Seen s) {
    if (s.status() == 200 && s.stream()) {
      List<String> events = Calls.events(s.body());
      String last = events.isEmpty() ? "" : events.get(events.size() - 1);
      return last.equals("[DONE]") ? "200 stream complete" : "200 stream truncated (error event)";
    }
    if (s.status() == 200) {
      return "200 success";
    }
    String type = s.body().replaceAll("(?s).*\"type\":\"([^\"]*)\".*", "$1");
    return s.status() + " " + (type.length() > 40 ? "?" : type);
  }

  /** Why an answered request's outcome is wrong, or null when it is right. */
  private static String judge(Seen s, long toleranceMs) {
    if (s.elapsedMs() > s.deadlineMs() + toleranceMs) {
      return "ended " + (s.elapsedMs() - s.deadlineMs()) + " ms after its deadline";
    }
    String attempts = s.headers().get("x-sluice-attempts");
    if (attempts != null) {
      int n = Integer.parseInt(attempts.substring(0, attempts.indexOf(' ')));
      if (n > 3) {
        return "more attempts than max_attempts: " + attempts;
      }
    }
    int st = s.status();
    if (st == 200) {
      if (!s.stream()) {
        return s.body().contains("\"object\":\"chat.completion\"") && s.body().contains("\"finish_reason\":\"stop\"")
            ? null : "a 200 that is not a complete answer: " + s.body();
      }
      List<String> events = Calls.events(s.body());
      if (events.isEmpty()) {
        return "an empty stream";
      }
      String last = events.get(events.size() - 1);
      if (last.equals("[DONE]")) {
        return events.stream().anyMatch(e -> e.startsWith("{\"error\"")) ? "an error event inside a complete stream" : null;
      }
      // a stream that broke after its first token must say so in a final error event
      return last.startsWith("{\"error\":") ? null : "a stream that ended silently: ..." + tail(s.body());
    }
    if (!List.of(429, 500, 502, 503, 504).contains(st)) {
      return "unexpected status " + st + ": " + s.body();
    }
    if (!s.body().startsWith("{\"error\":")) {
      return "an error without an error body: " + s.body();
    }
    if (st == 504 && !(s.body().contains("deadline_exceeded") || s.body().contains("_timeout"))) {
      return "a 504 that names no timeout: " + s.body();
    }
    return null;
  }

  private static String tail(String s) {
    return s.length() <= 200 ? s : s.substring(s.length() - 200);
  }

  // ---- a raw HTTP/1.1 client that can hang up at any moment -------------------------------------

  private static Seen call(int port, int index, boolean stream, long deadlineMs, long disconnectAtMs, boolean rst,
      ScheduledExecutorService hangUps) {
    String body = Calls.body("chaos", (stream ? "\"stream\":true," : "") + "\"max_tokens\":32");
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n"
        + "Content-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n"
        + "X-Request-Timeout: " + deadlineMs + "ms\r\nConnection: close\r\n\r\n";
    AtomicBoolean done = new AtomicBoolean();
    AtomicBoolean hungUp = new AtomicBoolean();
    long t0 = System.nanoTime();
    try (Socket socket = new Socket()) {
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      socket.setSoTimeout((int) (deadlineMs + 10_000));
      ScheduledFuture<?> hangUp = null;
      if (disconnectAtMs >= 0) {
        hangUp = hangUps.schedule(() -> {
          if (!done.get() && hungUp.compareAndSet(false, true)) {
            try {
              if (rst) {
                socket.setSoLinger(true, 0);
              }
              socket.close();
            } catch (IOException e) {
              // closing anyway
            }
          }
        }, disconnectAtMs, TimeUnit.MILLISECONDS);
      }
      OutputStream out = socket.getOutputStream();
      out.write(head.getBytes(StandardCharsets.ISO_8859_1));
      out.write(bytes);
      out.flush();
      InputStream in = new BufferedInputStream(socket.getInputStream());
      String statusLine = line(in);
      if (statusLine == null) {
        throw new IOException("connection closed before the status line");
      }
      int status = Integer.parseInt(statusLine.split(" ")[1]);
      Map<String, String> headers = new ConcurrentHashMap<>();
      for (String l = line(in); l != null && !l.isEmpty(); l = line(in)) {
        int c = l.indexOf(':');
        headers.put(l.substring(0, c).trim().toLowerCase(Locale.ROOT), l.substring(c + 1).trim());
      }
      String text;
      if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
        text = chunked(in);
      } else if (headers.containsKey("content-length")) {
        byte[] b = in.readNBytes(Integer.parseInt(headers.get("content-length")));
        text = new String(b, StandardCharsets.UTF_8);
      } else {
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      long elapsed = (System.nanoTime() - t0) / 1_000_000;
      if (!done.compareAndSet(false, true) || hungUp.get()) {
        return new Seen(index, stream, deadlineMs, disconnectAtMs, true, 0, Map.of(), "", elapsed, null);
      }
      if (hangUp != null) {
        hangUp.cancel(false);
      }
      return new Seen(index, stream, deadlineMs, disconnectAtMs, false, status, headers, text, elapsed, null);
    } catch (IOException | RuntimeException e) {
      long elapsed = (System.nanoTime() - t0) / 1_000_000;
      if (hungUp.get()) {
        return new Seen(index, stream, deadlineMs, disconnectAtMs, true, 0, Map.of(), "", elapsed, null);
      }
      return new Seen(index, stream, deadlineMs, disconnectAtMs, false, 0, Map.of(), "", elapsed,
          "the exchange failed at the client: " + e);
    }
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream(64);
    while (true) {
      int c = in.read();
      if (c < 0) {
        return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
      }
      if (c == '\n') {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
    }
  }

  private static String chunked(InputStream in) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      String size = line(in);
      if (size == null) {
        throw new IOException("chunked body cut before its last chunk");
      }
      int semi = size.indexOf(';');
      int n = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
      if (n == 0) {
        for (String l = line(in); l != null && !l.isEmpty(); l = line(in)) {
          // trailers
        }
        return body.toString(StandardCharsets.UTF_8);
      }
      body.write(in.readNBytes(n));
      line(in);
    }
  }
}
