package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.provider.sim.SimStats;
import dev.sluice.telemetry.Outcome;
import dev.sluice.testing.SseEvents;
import dev.sluice.testing.TestGateway;
import io.netty.channel.uring.IoUring;
import io.vertx.core.json.JsonObject;
import io.vertx.core.transport.Transport;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The gateway on each I/O transport ({@code server.transport}): the whole suite runs on what
 * {@code auto} picks on the machine (epoll on Linux), so these check that the others serve too: an
 * answer, a stream to its end, and a client that leaves mid-stream, whose upstream exchange must
 * still be aborted at once and everything it held released.
 */
class TransportTest {
  static String config(String transport) {
    return """
        server: { port: 0, event_loops: 1%s }
        providers:
          sim:
            type: sim
            seed: 5
            timeouts: { connect: 2s, first_byte: 20s, first_token: 20s, idle: 20s, total: 25s, stream_total: 25s }
        models:
          demo:
            deployments:
              - { id: sim-a, provider: sim, model: sim-fast }
        """.formatted(transport == null ? "" : ", transport: " + transport);
  }

  static void assumeAvailable(String transport) {
    try {
      Transports.choose(transport);
    } catch (IllegalStateException unavailable) {
      assumeTrue(false, unavailable::getMessage);
    }
  }

  static String transportOf(TestGateway gw) {
    return new JsonObject(gw.get("/admin/status").body()).getString("transport");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"nio", "epoll", "io_uring"})
  void servesAnswersStreamsAndReleasesAClientThatLeaves(String transport) throws IOException {
    assumeAvailable(transport);
    try (TestGateway gw = TestGateway.start(config(transport))) {
      assertThat(transportOf(gw)).isEqualTo(transport);
      assertThat(Transports.nameOf(gw.gateway().vertx())).isEqualTo(transport);

      HttpResponse<String> answer = gw.post("/v1/chat/completions", TestGateway.chat(""));
      assertThat(answer.statusCode()).isEqualTo(200);
      assertThat(new JsonObject(answer.body()).getJsonArray("choices")).isNotEmpty();

      HttpResponse<String> stream = gw.post("/v1/chat/completions",
          TestGateway.chat("\"stream\":true,\"sim\":{\"output_tokens\":5}"));
      assertThat(stream.statusCode()).isEqualTo(200);
      assertThat(stream.body()).contains("data: [DONE]");

      SimStats sim = gw.sim().stats();
      long aborted = sim.abortedByCaller();
      ClientDisconnectTest.RawClient c = new ClientDisconnectTest.RawClient(gw).post(TestGateway.chat(
          "\"stream\":true,\"sim\":{\"first_token\":\"10ms\",\"tokens_per_second\":20,\"output_tokens\":200}"));
      assertThat(c.readUntil("data: ", 3)).isTrue();
      c.abort();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(gw.sim().stats().abortedByCaller()).as("aborted by caller").isEqualTo(aborted + 1);
        assertThat(gw.sim().stats().open()).as("simulator exchanges open").isZero();
      });
      gw.awaitAtRest();
      assertThat(SseEvents.record(gw.gateway(), c.id).outcome()).isEqualTo(Outcome.CLIENT_CLOSED);
      assertThat(c.seen.toString(StandardCharsets.UTF_8)).startsWith("HTTP/1.1 200");
    }
  }

  /** The crowd of ClientDisconnectTest (which runs on auto) on the other transports. */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"nio", "io_uring"})
  void aCrowdOfClientsLeavingInEveryWayComesToRest(String transport) throws Exception {
    assumeAvailable(transport);
    try (TestGateway gw = TestGateway.start(config(transport))) {
      ClientDisconnectTest.crowdWithRandomDisconnectsComesToRest(gw);
    }
  }

  @Test
  void ioUringArmsOneShotPollsUnlessTheUserChoseOtherwise() {
    assumeAvailable("io_uring");
    Transports.choose("io_uring");
    assertThat(IoUring.isPollAddMultishotEnabled()).as("Netty's multishot POLLIN, read when io_uring loaded").isFalse();
    String set = System.getProperty(Transports.MULTISHOT_POLL);
    try {
      System.setProperty(Transports.MULTISHOT_POLL, "true");
      Transports.preferOneShotPoll();
      assertThat(System.getProperty(Transports.MULTISHOT_POLL)).as("a value set with -D is kept").isEqualTo("true");
      System.clearProperty(Transports.MULTISHOT_POLL);
      Transports.preferOneShotPoll();
      assertThat(System.getProperty(Transports.MULTISHOT_POLL)).isEqualTo("false");
    } finally {
      if (set == null) {
        System.clearProperty(Transports.MULTISHOT_POLL);
      } else {
        System.setProperty(Transports.MULTISHOT_POLL, set);
      }
    }
  }

  @Test
  void autoTakesEpollWhereTheKernelHasItElseNio() {
    String expected = Transport.EPOLL.available() ? "epoll" : "nio";
    try (TestGateway gw = TestGateway.start(config(null))) {
      assertThat(transportOf(gw)).isEqualTo(expected);
    }
    assertThat(Transports.epollUnavailable() == null).isEqualTo(Transport.EPOLL.available());
  }

  @Test
  void stoppingTheEventLoopsIsBoundedWhenTheyDoNotStop() {
    io.vertx.core.Promise<Void> never = io.vertx.core.Promise.promise();
    assertThat(Gateway.awaitStopped(never.future(), 50, java.util.concurrent.TimeUnit.MILLISECONDS))
        .as("a stop that never finishes is given up after its bound").isFalse();
    assertThat(Gateway.awaitStopped(io.vertx.core.Future.succeededFuture(), 50, java.util.concurrent.TimeUnit.MILLISECONDS))
        .as("a finished stop").isTrue();
  }

  @Test
  void anUnknownTransportIsAConfigurationProblemAtItsPlace() {
    assertThatThrownBy(() -> new ConfigLoader(Map.of()).loadText(config("fast"), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("server.transport")
        .hasMessageContaining("unknown transport 'fast'");
  }
}
