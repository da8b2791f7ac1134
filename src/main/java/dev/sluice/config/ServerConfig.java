package dev.sluice.config;

/**
 * The listening side of the gateway.
 *
 * @param host          interface to bind; default {@code 127.0.0.1}
 * @param port          TCP port; default 8080
 * @param eventLoops    event-loop threads serving requests; 0 means one per core
 * @param maxBodyBytes  largest request body accepted; default 8 MiB (413 beyond)
 * @param maxMessages   most chat messages accepted in one request; default 4096
 * @param metrics       record Prometheus metrics; default true
 */
public record ServerConfig(String host, int port, int eventLoops, long maxBodyBytes, int maxMessages, boolean metrics) {
  public static final ServerConfig DEFAULTS = new ServerConfig("127.0.0.1", 8080, 0, 8L << 20, 4096, true);

  public int effectiveEventLoops() {
    return eventLoops > 0 ? eventLoops : Math.max(1, Runtime.getRuntime().availableProcessors());
  }

  public ServerConfig withPort(int p) {
    return new ServerConfig(host, p, eventLoops, maxBodyBytes, maxMessages, metrics);
  }

  public ServerConfig withHost(String h) {
    return new ServerConfig(h, port, eventLoops, maxBodyBytes, maxMessages, metrics);
  }

  public ServerConfig withEventLoops(int n) {
    return new ServerConfig(host, port, n, maxBodyBytes, maxMessages, metrics);
  }
}
