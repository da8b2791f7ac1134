package dev.sluice.provider;

import dev.sluice.config.ProviderConfig;
import io.netty.util.NetUtil;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.PemTrustOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP clients of one event loop, one per provider. Each gateway event loop has its own so
 * that an upstream exchange runs on the same thread as the client request it serves.
 */
public final class UpstreamClients {
  /** How long an upstream connection may stay idle before the gateway closes it. */
  static final Duration KEEP_ALIVE = Duration.ofSeconds(60);
  private static final Duration SWEEP_EVERY = Duration.ofSeconds(1);

  private final Map<String, HttpClient> clients = new HashMap<>();

  /**
   * @param longestConnect per provider, the longest connect guard any of its deployments has: the TCP
   *                       connect timeout must not cut a deployment's own, longer guard short
   * @param connections    counts the connections every provider's pool opens and closes
   */
  public UpstreamClients(Vertx vertx, Iterable<ProviderConfig> providers, Map<String, Long> longestConnect,
      UpstreamConnections connections) {
    for (ProviderConfig p : providers) {
      if (!reached(p)) {
        continue;
      }
      boolean ssl = "https".equals(p.baseUrl().getScheme());
      int connect = (int) Math.min(Integer.MAX_VALUE, Math.max(p.timeouts().connect().toMillis(),
          longestConnect.getOrDefault(p.name(), 0L)));
      HttpClientOptions options = new HttpClientOptions()
          .setSsl(ssl)
          .setKeepAlive(true)
          .setKeepAliveTimeout((int) KEEP_ALIVE.toSeconds())
          .setTcpNoDelay(true)
          .setConnectTimeout(connect)
          // the TLS handshake is part of connecting (DESIGN.md 2.2): bounded like the TCP connect, not
          // by Vert.x's own 10 s, which held a stalled handshake's socket long after a shorter guard
          // fired and cut a longer one short
          .setSslHandshakeTimeout(connect)
          .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS)
          .setName("sluice-" + p.name());
      if (ssl && sniFor(p.baseUrl().getHost())) {
        // name the server in the handshake (SNI) for every host name: the JDK leaves it out for a
        // name without a dot (a container or service name such as https://vllm:8443), and a
        // TLS front that serves several names then answers with the wrong certificate or refuses
        options.setForceSni(true);
      }
      if (p.caFile() != null) {
        options.setTrustOptions(new PemTrustOptions().addCertPath(p.caFile().toString()));
      }
      String name = p.name();
      if (!p.http2()) {
        // HTTP/1.1: one connection per exchange, picked in constant time (see UpstreamPool)
        clients.put(name, new UpstreamPool(vertx, UpstreamPool.Connector.of(vertx.createHttpClient(options)),
            p.maxConnections(),
            KEEP_ALIVE, SWEEP_EVERY, System::nanoTime, new UpstreamPool.Listener() {
              @Override
              public void opened() {
                connections.opened(name);
              }

              @Override
              public void closed() {
                connections.closed(name);
              }
            }));
        continue;
      }
      // multiplexed: a handful of connections carry thousands of concurrent streams, so Vert.x's
      // pool, which looks at each of its connections per request, costs little here
      options.setProtocolVersion(HttpVersion.HTTP_2).setUseAlpn(ssl).setHttp2ClearTextUpgrade(false);
      PoolOptions pool = new PoolOptions()
          .setHttp1MaxSize(p.maxConnections())
          .setHttp2MaxSize(Math.max(1, Math.min(p.maxConnections(), 64)))
          .setMaxWaitQueueSize(-1);
      clients.put(name, vertx.httpClientBuilder().with(options).with(pool)
          .withConnectHandler(conn -> {
            connections.opened(name);
            conn.closeHandler(v -> connections.closed(name));
          })
          .build());
    }
  }

  /** Whether the gateway has a client for {@code p}: it is enabled and has an address. */
  public static boolean reached(ProviderConfig p) {
    return p.enabled() && p.baseUrl() != null;
  }

  public HttpClient client(String provider) {
    return clients.get(provider);
  }

  public Future<Void> close() {
    List<Future<Void>> all = new ArrayList<>();
    clients.values().forEach(c -> all.add(c.close()));
    return Future.all(all).mapEmpty();
  }

  /**
   * Whether a TLS handshake to {@code host} should name it (SNI) explicitly: for every host name,
   * also one without a dot, which the JDK would leave out; never for an IP address.
   */
  public static boolean sniFor(String host) {
    return !NetUtil.isValidIpV4Address(host) && !NetUtil.isValidIpV6Address(host);
  }
}
