package dev.sluice.config;

import java.util.List;

/**
 * The listening side of the gateway.
 *
 * @param host          interface to bind; default {@code 127.0.0.1}
 * @param port          TCP port; default 8080
 * @param eventLoops    event-loop threads serving requests; 0 means one per core
 * @param maxBodyBytes  largest request body accepted; default 8 MiB (413 beyond)
 * @param maxMessages   most chat messages accepted in one request; default 4096
 * @param metrics       record Prometheus metrics; default true
 * @param transport     I/O transport of the event loops: auto (epoll, else nio), epoll, io_uring
 *                      or nio; default auto
 */
public record ServerConfig(String host, int port, int eventLoops, long maxBodyBytes, int maxMessages, boolean metrics,
    String transport) {
  /** The transports {@code server.transport} may name. */
  public static final List<String> TRANSPORTS = List.of("auto", "io_uring", "epoll", "nio");
  public static final ServerConfig DEFAULTS = new ServerConfig("127.0.0.1", 8080, 0, 8L << 20, 4096, true, "auto");

  /** Null when {@code name} is one of {@link #TRANSPORTS}, else what is wrong with it. */
  public static String transportProblem(String name) {
    return TRANSPORTS.contains(name) ? null
        : "unknown transport '" + name + "'; expected " + String.join(", ", TRANSPORTS);
  }

  public int effectiveEventLoops() {
    return eventLoops > 0 ? eventLoops : Math.max(1, Runtime.getRuntime().availableProcessors());
  }

  public ServerConfig withPort(int p) {
    return new ServerConfig(host, p, eventLoops, maxBodyBytes, maxMessages, metrics, transport);
  }

  public ServerConfig withHost(String h) {
    return new ServerConfig(h, port, eventLoops, maxBodyBytes, maxMessages, metrics, transport);
  }

  public ServerConfig withTransport(String t) {
    return new ServerConfig(host, port, eventLoops, maxBodyBytes, maxMessages, metrics, t);
  }

  public ServerConfig withEventLoops(int n) {
    return new ServerConfig(host, port, n, maxBodyBytes, maxMessages, metrics, transport);
  }
}
