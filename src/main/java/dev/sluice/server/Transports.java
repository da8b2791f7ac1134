package dev.sluice.server;

import dev.sluice.config.ServerConfig;
import io.netty.channel.uring.IoUring;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.transport.Transport;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which I/O transport the event loops use: {@code epoll}, {@code io_uring} or the JDK's {@code nio}.
 * {@code auto} takes epoll, else NIO. io_uring is taken only when named: side by side with epoll it
 * took 11% less CPU per proxied request at saturation, but added twice epoll's latency to the p99 of
 * relayed chunks at 1,000 streams/s and to the median at low load (docs/benchmarks.md), and a gateway
 * that owns its requests' time prefers the shorter tail. A transport named explicitly must be
 * available, or the gateway does not start.
 */
public final class Transports {
  private static final Logger LOG = LoggerFactory.getLogger(Transports.class);
  private static final String AUTO = "auto";
  /** Netty's switch between one multishot POLLIN per connection (its default) and a one-shot POLLIN per wait. */
  static final String MULTISHOT_POLL = "io.netty.iouring.pollAddMultishotEnabled";

  static {
    preferOneShotPoll();
  }

  private Transports() {}

  /** The transport a configured name selects; {@link IllegalStateException} naming the cause when it cannot run here. */
  public static Transport choose(String configured) {
    String name = configured.toLowerCase(Locale.ROOT);
    switch (name) {
      case AUTO:
        return Transport.EPOLL.available() ? Transport.EPOLL : Transport.NIO;
      case "io_uring":
        Transport uring = require(Transport.IO_URING, name);
        if (IoUring.isPollAddMultishotEnabled()) {
          LOG.warn("io_uring with multishot POLLIN ({}=true, or set before Sluice could): a client that resets"
              + " right after its request may go unnoticed until its deadline (docs/operations.md)", MULTISHOT_POLL);
        }
        return uring;
      case "epoll":
        return require(Transport.EPOLL, name);
      case "nio":
        return Transport.NIO;
      default:
        throw new IllegalArgumentException(ServerConfig.transportProblem(configured));
    }
  }

  /**
   * Asks Netty's io_uring transport to arm a one-shot POLLIN each time a connection waits for input,
   * in place of one multishot POLLIN per connection. With the multishot poll, under load, Vert.x 5.0.7
   * on io_uring never learnt of a few clients that reset right after sending their request: their
   * channels sat with a POLLIN armed that never completed ({@code bench/probes/ResetRepro.java}: 7 to
   * 13 of 120 such clients; with one-shot polls none of 240). Netty reads the property once, when its
   * io_uring classes load, which touching any of Vert.x's {@link Transport}s does; so the command line
   * calls this first thing, and this class on loading. A value set with {@code -D} is kept.
   */
  public static void preferOneShotPoll() {
    if (System.getProperty(MULTISHOT_POLL) == null) {
      System.setProperty(MULTISHOT_POLL, "false");
    }
  }

  /** The name of the transport a running Vert.x instance uses: io_uring, epoll, kqueue or nio. */
  public static String nameOf(Vertx vertx) {
    String impl = ((VertxInternal) vertx).transport().getClass().getSimpleName();
    if (impl.startsWith("IoUring")) {
      return "io_uring";
    }
    if (impl.startsWith("Epoll")) {
      return "epoll";
    }
    if (impl.startsWith("KQueue")) {
      return "kqueue";
    }
    return "nio";
  }

  /** Why epoll is not used here, or null when it is available. */
  public static String epollUnavailable() {
    if (Transport.EPOLL.available()) {
      return null;
    }
    Throwable cause = Transport.EPOLL.unavailabilityCause();
    return cause == null ? "unavailable" : String.valueOf(cause.getMessage());
  }

  private static Transport require(Transport t, String name) {
    if (!t.available()) {
      Throwable cause = t.unavailabilityCause();
      throw new IllegalStateException("server.transport " + name + " is not available on this machine"
          + (cause == null ? "" : ": " + cause.getMessage()) + "; use auto to fall back", cause);
    }
    return t;
  }
}
