package dev.sluice.provider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.testing.AtRest;
import dev.sluice.testing.Calls;
import dev.sluice.testing.Calls.Call;
import dev.sluice.testing.TestGateway;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A TLS front that accepts the TCP connection and never answers the ClientHello (an overloaded
 * load balancer, a firewall that lets SYN through): the connect guard covers the handshake, names
 * itself, and the socket is given up with it rather than held for Vert.x's own 10 s handshake timeout.
 */
class UpstreamTlsStallTest {
  static ServerSocket stall;
  static final AtomicInteger accepted = new AtomicInteger();
  static final AtomicInteger closedByGateway = new AtomicInteger();
  static TestGateway gw;

  @BeforeAll
  static void start() throws IOException {
    stall = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(() -> {
      while (!stall.isClosed()) {
        try {
          Socket s = stall.accept();
          accepted.incrementAndGet();
          Thread t = new Thread(() -> hold(s), "tls-stall-conn");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }, "tls-stall-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        providers:
          stall: { type: openai, base_url: "https://localhost:%d/v1", api_key: k, timeouts: { connect: 300ms } }
        resilience:
          retry: { max_attempts: 1 }
          breaker: { enabled: false }
        models:
          stall: { deployments: [{ id: s, provider: stall, model: m }] }
        """.formatted(stall.getLocalPort()));
  }

  /** Reads the ClientHello and whatever follows, answers nothing, and counts the gateway's close. */
  private static void hold(Socket s) {
    try (s; InputStream in = s.getInputStream()) {
      while (in.read() >= 0) {
        // never answered
      }
    } catch (IOException e) {
      // reset by the gateway: closed all the same
    }
    closedByGateway.incrementAndGet();
  }

  @AfterAll
  static void stop() throws IOException {
    gw.close();
    stall.close();
  }

  @AfterEach
  void atRest() {
    AtRest.check(gw);
  }

  @Test
  void aHandshakeThatNeverAnswersIsCutByTheConnectGuardAndItsSocketIsClosed() {
    int before = closedByGateway.get();

    Call c = Calls.chat(gw, Calls.body("stall", null));

    assertThat(c.status()).as(c.body()).isEqualTo(504);
    assertThat(c.body()).contains("connect_timeout");
    assertThat(accepted.get()).isEqualTo(1);
    // the handshake is bounded like the TCP connect, by the provider's connect guard: the socket is
    // closed soon after the guard fired, not after Vert.x's default 10 s handshake timeout
    await().atMost(Duration.ofSeconds(5)).until(() -> closedByGateway.get() == before + 1);
  }
}
