package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.provider.sim.SimStats;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.SseEvents;
import dev.sluice.testing.TestGateway;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Clients that go away (DESIGN.md 2.4): the upstream exchange is reset at once (the simulator sees
 * it aborted), everything the request held is given back, and the request is recorded as
 * {@code client_closed} (499). The client is a raw socket, so that it can vanish at any byte.
 */
class ClientDisconnectTest {
  static final String CONFIG = """
      server: { port: 0, event_loops: 1 }
      providers:
        sim:
          type: sim
          seed: 11
          timeouts: { connect: 2s, first_byte: 20s, first_token: 20s, idle: 20s, total: 25s, stream_total: 25s }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast }
      """;

  static TestGateway gw;
  static final AtomicInteger ids = new AtomicInteger();

  @BeforeAll
  static void start() {
    gw = TestGateway.start(CONFIG);
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  /** An HTTP/1.1 exchange on a raw socket: it can read a little and then simply close. */
  static final class RawClient implements AutoCloseable {
    final String id = "dc-" + ids.incrementAndGet();
    final Socket socket;
    final InputStream in;
    final OutputStream out;
    final ByteArrayOutputStream seen = new ByteArrayOutputStream();

    RawClient() throws IOException {
      this(gw);
    }

    RawClient(TestGateway g) throws IOException {
      socket = new Socket(InetAddress.getLoopbackAddress(), g.gateway().port());
      socket.setSoTimeout(20_000);
      in = socket.getInputStream();
      out = socket.getOutputStream();
    }

    RawClient post(String json) throws IOException {
      byte[] body = json.getBytes(StandardCharsets.UTF_8);
      sendHead(body.length);
      out.write(body);
      out.flush();
      return this;
    }

    void sendHead(int contentLength) throws IOException {
      String head = "POST /v1/chat/completions HTTP/1.1\r\n"
          + "Host: 127.0.0.1\r\n"
          + "Content-Type: application/json\r\n"
          + "X-Request-Id: " + id + "\r\n"
          + "Content-Length: " + contentLength + "\r\n\r\n";
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      out.flush();
    }

    /** Reads until {@code text} has been seen {@code times} times in the response; false at its end. */
    boolean readUntil(String text, int times) throws IOException {
      byte[] buf = new byte[4096];
      while (count(seen.toString(StandardCharsets.UTF_8), text) < times) {
        int n = in.read(buf);
        if (n < 0) {
          return false;
        }
        seen.write(buf, 0, n);
      }
      return true;
    }

    /** Reads the whole response (the gateway ends a chunked stream with a zero-length chunk). */
    String readToEnd() throws IOException {
      readUntil("\r\n0\r\n\r\n", 1);
      return seen.toString(StandardCharsets.UTF_8);
    }

    /** Closes abruptly: an RST instead of a FIN, as a crashed client or a killed process would. */
    void abort() throws IOException {
      socket.setSoLinger(true, 0);
      socket.close();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }

    static int count(String s, String part) {
      int n = 0;
      for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + part.length())) {
        n++;
      }
      return n;
    }
  }

  record SimSnapshot(long requests, long aborted, long open) {
    static SimSnapshot now() {
      return of(gw);
    }

    static SimSnapshot of(TestGateway g) {
      SimStats s = g.sim().stats();
      return new SimSnapshot(s.requests(), s.abortedByCaller(), s.open());
    }
  }

  static void awaitSimReceived(SimSnapshot before, int n) {
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
        .until(() -> gw.sim().stats().requests() >= before.requests() + n);
  }

  /** The provider saw the exchange given up, nothing is left open on either side, and the record says 499. */
  static void assertReleased(RawClient c, SimSnapshot before) {
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(gw.sim().stats().abortedByCaller()).as("aborted by caller").isEqualTo(before.aborted() + 1);
      assertThat(gw.sim().stats().open()).as("simulator exchanges open").isEqualTo(before.open());
    });
    gw.awaitAtRest();
    RequestRecord rec = SseEvents.record(gw.gateway(), c.id);
    assertThat(rec.outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(rec.status()).isEqualTo(499);
    assertThat(rec.errorType()).isEqualTo("client_closed");
  }

  static String slowStream() {
    // about ten seconds of tokens: the client always leaves long before the end
    return TestGateway.chat("\"stream\":true,\"sim\":{\"first_token\":\"10ms\",\"tokens_per_second\":20,\"output_tokens\":200}");
  }

  @ParameterizedTest(name = "rst={0}")
  @ValueSource(booleans = {false, true})
  void aClientThatLeavesMidStreamAbortsTheUpstream(boolean rst) throws IOException {
    SimSnapshot before = SimSnapshot.now();
    long completed = gw.sim().stats().streamsCompleted();
    RawClient c = new RawClient().post(slowStream());
    assertThat(c.readUntil("data: ", 3)).isTrue();
    assertThat(c.seen.toString(StandardCharsets.UTF_8)).startsWith("HTTP/1.1 200").contains("text/event-stream");
    if (rst) {
      c.abort();
    } else {
      c.close();
    }
    assertReleased(c, before);
    assertThat(gw.sim().stats().streamsCompleted()).as("the stream was not played to its end").isEqualTo(completed);
  }

  @Test
  void aClientThatLeavesWhileTheGatewayWaitsForHeadersAbortsTheUpstream() throws IOException {
    SimSnapshot before = SimSnapshot.now();
    RawClient c = new RawClient().post(TestGateway.chat("\"sim\":{\"hang_before_headers\":1}"));
    awaitSimReceived(before, 1);
    c.close();
    assertReleased(c, before);
  }

  @Test
  void aClientThatLeavesBeforeTheFirstTokenAbortsTheUpstream() throws IOException {
    // the provider sent its headers and role-only chunk; the gateway has committed nothing yet
    SimSnapshot before = SimSnapshot.now();
    long started = gw.sim().stats().streamsStarted();
    RawClient c = new RawClient().post(TestGateway.chat("\"stream\":true,\"sim\":{\"first_token\":\"10s\"}"));
    await().atMost(Duration.ofSeconds(10)).until(() -> gw.sim().stats().streamsStarted() > started);
    c.close();
    assertReleased(c, before);
    assertThat(c.seen.size()).as("nothing was committed to the client").isZero();
  }

  @Test
  void aClientThatLeavesDuringANonStreamRequestAbortsTheUpstream() throws IOException {
    SimSnapshot before = SimSnapshot.now();
    RawClient c = new RawClient().post(TestGateway.chat("\"sim\":{\"first_token\":\"10s\"}"));
    awaitSimReceived(before, 1);
    c.abort();
    assertReleased(c, before);
  }

  @Test
  void aClientThatLeavesWhileSendingItsBodyIsRecordedAndReleased() throws IOException {
    SimSnapshot before = SimSnapshot.now();
    RawClient c = new RawClient();
    c.sendHead(10_000);
    c.out.write("{\"model\":\"demo\",".getBytes(StandardCharsets.UTF_8));
    c.out.flush();
    await().atMost(Duration.ofSeconds(10)).until(() -> gw.ledger().requestsInFlight() == 1);
    c.close();
    gw.awaitAtRest();
    RequestRecord rec = SseEvents.record(gw.gateway(), c.id);
    assertThat(rec.outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(rec.status()).isEqualTo(499);
    assertThat(gw.sim().stats().requests()).as("nothing reached the provider").isEqualTo(before.requests());
  }

  @Test
  void aClientThatLeavesWhileTheGatewayWaitsOutARetryAfterIsReleased() throws IOException {
    // the first attempt gets a 429 with Retry-After: 5; the retry waits for it; the client does not
    SimSnapshot before = SimSnapshot.now();
    RawClient c = new RawClient().post(TestGateway.chat("\"sim\":{\"rate_limit_rate\":1,\"retry_after\":5}"));
    await().atMost(Duration.ofSeconds(10)).until(() -> gw.sim().stats().status(429) > 0
        && gw.ledger().requestsInFlight() == 1 && gw.ledger().attemptsInFlight() == 0);
    c.close();
    gw.awaitAtRest();
    RequestRecord rec = SseEvents.record(gw.gateway(), c.id);
    assertThat(rec.outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
    assertThat(gw.sim().stats().requests()).as("the retry never started").isEqualTo(before.requests() + 1);
  }

  /**
   * Fills the deployment's concurrency limit with requests the provider never answers, until one more
   * has to wait in the model's queue; returns them all, the queued one last.
   */
  static List<RawClient> fillToTheQueue(TestGateway g) throws IOException {
    List<RawClient> holders = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      RawClient c = new RawClient(g).post(TestGateway.chat("\"sim\":{\"hang_before_headers\":1}"));
      holders.add(c);
      int n = holders.size();
      await().atMost(Duration.ofSeconds(10)).until(() -> g.ledger().attemptsInFlight() == n || g.ledger().queued() == 1);
      if (g.ledger().queued() == 1) {
        return holders;
      }
    }
    throw new IllegalStateException("no request was ever queued");
  }

  static final String QUEUE_CONFIG = """
      server: { port: 0, event_loops: 1 }
      resilience: { retry: { max_attempts: 1 } }
      admission: { concurrency: { algorithm: fixed, initial: 8, min: 1, max: 8 } }
      providers:
        sim:
          type: sim
          seed: 5
          timeouts: { connect: 1s, first_byte: 20s, first_token: 20s, idle: 20s, total: 25s, stream_total: 25s }
      models:
        demo: { deployments: [{ id: sim-a, provider: sim, model: sim-fast }] }
      """;

  @Test
  void aClientThatLeavesWhileQueuedIsTakenOffTheQueue() throws Exception {
    try (TestGateway g = TestGateway.start(QUEUE_CONFIG)) {
      List<RawClient> holders = fillToTheQueue(g);
      RawClient waiting = holders.remove(holders.size() - 1);
      long reached = g.sim().stats().requests();
      waiting.close();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(g.ledger().queued()).isZero();
        assertThat(g.ledger().requestsInFlight()).as("only the holders are left").isEqualTo(holders.size());
      });
      RequestRecord rec = SseEvents.record(g.gateway(), waiting.id);
      assertThat(rec.outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
      assertThat(rec.attempts()).as("it never reached a provider").isZero();
      for (RawClient h : holders) {
        h.close();
      }
      g.awaitAtRest();
      assertThat(g.sim().stats().requests()).isEqualTo(reached);
      // every slot is free again: nothing was lost to the clients that left
      assertThat(g.post("/v1/chat/completions", TestGateway.chat(null)).statusCode()).isEqualTo(200);
      g.awaitAtRest();
    }
  }

  @Test
  void aClientThatReadsToTheEndIsNotClientClosed() throws IOException {
    try (RawClient c = new RawClient().post(TestGateway.chat("\"stream\":true,\"sim\":{\"output_tokens\":5}"))) {
      String all = c.readToEnd();
      assertThat(all).contains("data: [DONE]");
      assertThat(SseEvents.record(gw.gateway(), c.id).outcome()).isEqualTo(Outcome.SUCCESS);
    }
    gw.awaitAtRest();
  }

  @Test
  void aConnectionThatCompletesAfterTheClientLeftIsGivenUpQuietly() throws Exception {
    // a provider whose accept queue is full: the gateway's connect waits for a SYN retransmit
    try (ServerSocket provider = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        LogCapture logs = LogCapture.of("io.vertx.core.http")) {
      List<Socket> fillers = fillAcceptQueue(provider);
      String yaml = """
          server: { port: 0, event_loops: 1 }
          providers:
            slow:
              type: openai
              base_url: http://127.0.0.1:%d/v1
              timeouts: { connect: 8s, first_byte: 9s, first_token: 9s, idle: 9s, total: 9s, stream_total: 9s }
          models:
            demo: { deployments: [{ id: slow-a, provider: slow, model: m }] }
          """.formatted(provider.getLocalPort());
      try (TestGateway g = TestGateway.start(yaml)) {
        Socket client = new Socket(InetAddress.getLoopbackAddress(), g.gateway().port());
        byte[] body = TestGateway.chat(null).getBytes(StandardCharsets.UTF_8);
        client.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
            + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        client.getOutputStream().write(body);
        client.getOutputStream().flush();
        await().atMost(Duration.ofSeconds(10)).until(() -> g.ledger().attemptsInFlight() == 1);
        client.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> g.ledger().requestsInFlight() == 0);
        // make room: the gateway's retransmitted SYN now completes a connection nobody wants any more
        for (Socket f : fillers) {
          f.close();
        }
        provider.setSoTimeout(10_000);
        for (int i = 0; i < fillers.size(); i++) {
          provider.accept().close();
        }
        try (Socket late = provider.accept()) {
          // nothing is sent on it: the gateway may close it or keep it idle in its pool, not use it
          late.setSoTimeout(1000);
          int first;
          try {
            first = late.getInputStream().read();
          } catch (SocketTimeoutException idle) {
            first = -1;
          }
          assertThat(first).as("no request is sent for a client that left").isEqualTo(-1);
        }
        g.awaitAtRest();
      }
      assertThat(logs.errors()).as("giving up a late connection is not an error").isEmpty();
    }
  }

  static List<Socket> fillAcceptQueue(ServerSocket server) throws IOException {
    List<Socket> fillers = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      Socket s = new Socket();
      try {
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), 300);
        fillers.add(s);
      } catch (SocketTimeoutException full) {
        s.close();
        return fillers;
      }
    }
    throw new IllegalStateException("the accept queue never filled");
  }

  /** Collects log events of one logger (and its children) while open. */
  static final class LogCapture implements AutoCloseable {
    final ch.qos.logback.classic.Logger logger;
    final ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> appender =
        new ch.qos.logback.core.read.ListAppender<>();

    private LogCapture(String name) {
      logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(name);
      appender.start();
      logger.addAppender(appender);
    }

    static LogCapture of(String name) {
      return new LogCapture(name);
    }

    List<String> errors() {
      List<String> out = new ArrayList<>();
      for (var e : List.copyOf(appender.list)) {
        if (e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.ERROR)) {
          out.add(e.getLoggerName() + ": " + e.getFormattedMessage());
        }
      }
      return out;
    }

    @Override
    public void close() {
      logger.detachAppender(appender);
    }
  }

  /** What one client of the crowd does. */
  enum Behaviour { LEAVE_AT_ONCE, LEAVE_AFTER_HEADERS, LEAVE_MID_STREAM, RST_MID_STREAM, READ_TO_END }

  @Test
  void manyConcurrentStreamsWithRandomDisconnectsAllComeToRest() throws Exception {
    crowdWithRandomDisconnectsComesToRest(gw);
  }

  /**
   * 200 streams at once on {@code gw}, each client leaving in its own way (or reading to the end):
   * every request comes to rest with an honest outcome and nothing stays open upstream. TransportTest
   * runs it on each transport.
   */
  static void crowdWithRandomDisconnectsComesToRest(TestGateway gw) throws Exception {
    int n = 200;
    SimSnapshot before = SimSnapshot.of(gw);
    SplittableRandom rnd = new SplittableRandom(42);
    Behaviour[] plan = new Behaviour[n];
    int[] events = new int[n];
    for (int i = 0; i < n; i++) {
      plan[i] = Behaviour.values()[rnd.nextInt(Behaviour.values().length)];
      events[i] = 1 + rnd.nextInt(10);
    }
    ExecutorService pool = Executors.newFixedThreadPool(n);
    Map<String, Behaviour> byId = new HashMap<>();
    List<Future<String>> done = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        Behaviour b = plan[i];
        int k = events[i];
        RawClient c = new RawClient(gw);
        byId.put(c.id, b);
        done.add(pool.submit(() -> {
          // 40 tokens at 40 per second: about a second per stream, so that all 200 overlap
          c.post(TestGateway.chat("\"stream\":true,\"sim\":{\"first_token\":{\"median\":\"20ms\",\"p99\":\"200ms\"},"
              + "\"tokens_per_second\":40,\"output_tokens\":40}"));
          switch (b) {
            case LEAVE_AT_ONCE -> c.abort();
            case LEAVE_AFTER_HEADERS -> {
              c.readUntil("\r\n\r\n", 1);
              c.close();
            }
            case LEAVE_MID_STREAM -> {
              c.readUntil("data: ", k);
              c.close();
            }
            case RST_MID_STREAM -> {
              c.readUntil("data: ", k);
              c.abort();
            }
            case READ_TO_END -> {
              String all = c.readToEnd();
              c.close();
              assertThat(all).contains("data: [DONE]");
            }
          }
          return c.id;
        }));
      }
      for (Future<String> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }

    gw.awaitAtRest();
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
        assertThat(gw.sim().stats().open()).as("simulator exchanges open").isEqualTo(before.open()));

    Map<Outcome, Integer> outcomes = new HashMap<>();
    for (Map.Entry<String, Behaviour> e : byId.entrySet()) {
      RequestRecord r = SseEvents.record(gw.gateway(), e.getKey());
      outcomes.merge(r.outcome(), 1, Integer::sum);
      if (e.getValue() == Behaviour.READ_TO_END) {
        assertThat(r.outcome()).as(e.getKey()).isEqualTo(Outcome.SUCCESS);
      } else {
        // a client may leave just as its stream finished: either outcome is honest, nothing else is
        assertThat(r.outcome()).as("%s, %s: %s", e.getKey(), e.getValue(), r).isIn(Outcome.CLIENT_CLOSED, Outcome.SUCCESS);
      }
    }
    long leavers = byId.values().stream().filter(b -> b != Behaviour.READ_TO_END).count();
    assertThat(outcomes.getOrDefault(Outcome.CLIENT_CLOSED, 0)).as("most leavers left a stream in flight")
        .isGreaterThan((int) (leavers * 0.8));
    assertThat(gw.sim().stats().abortedByCaller() - before.aborted())
        .as("every client_closed stream was given up upstream too (or had not reached it)")
        .isLessThanOrEqualTo(outcomes.getOrDefault(Outcome.CLIENT_CLOSED, 0));
  }
}
