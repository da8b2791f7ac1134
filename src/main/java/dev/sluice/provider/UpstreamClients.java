package dev.sluice.provider;

import dev.sluice.config.ProviderConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The HTTP clients of one event loop, one per provider. Each gateway event loop has its own so
 * that an upstream exchange runs on the same thread as the client request it serves.
 */
public final class UpstreamClients {
  private final Map<String, HttpClientAgent> clients = new HashMap<>();

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
      HttpClientOptions options = new HttpClientOptions()
          .setSsl(ssl)
          .setKeepAlive(true)
          .setKeepAliveTimeout(60)
          .setTcpNoDelay(true)
          .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, Math.max(p.timeouts().connect().toMillis(),
              longestConnect.getOrDefault(p.name(), 0L))))
          .setName("sluice-" + p.name());
      PoolOptions pool = new PoolOptions()
          .setHttp1MaxSize(p.maxConnections())
          .setMaxWaitQueueSize(-1);
      if (p.http2()) {
        // multiplexed: a handful of connections carry thousands of concurrent streams
        options.setProtocolVersion(HttpVersion.HTTP_2).setUseAlpn(ssl).setHttp2ClearTextUpgrade(false);
        pool.setHttp2MaxSize(Math.max(1, Math.min(p.maxConnections(), 64)));
      }
      String name = p.name();
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
}
