package dev.sluice.config;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * One upstream provider: where it is, how to authenticate, and its default guards.
 *
 * @param name           the name deployments refer to
 * @param type           {@code openai} (any OpenAI-compatible server) or {@code sim} (the built-in simulator)
 * @param preset         the preset it was built from, or {@code null}
 * @param baseUrl        base URL including the version path, e.g. {@code https://api.openai.com/v1}
 * @param apiKey         sent as {@code Authorization: Bearer}; never logged
 * @param headers        extra headers sent upstream
 * @param timeouts       default guards for this provider's deployments
 * @param maxConnections upstream connection pool size per event loop
 * @param passthrough    whether clients may address {@code name/<upstream model>} directly
 * @param enabled        false when a required key or host is missing from the environment
 * @param sim            simulator settings when {@code type} is {@code sim}
 * @param http2          speak HTTP/2 upstream (ALPN over TLS, prior knowledge in clear text): many
 *                       concurrent streams share a few connections
 * @param caFile         PEM file of the certificate authorities to trust for this provider's TLS
 *                       instead of the JVM's, or {@code null} for the JVM's
 */
public record ProviderConfig(
    String name,
    String type,
    String preset,
    URI baseUrl,
    Secret apiKey,
    Map<String, String> headers,
    Timeouts timeouts,
    int maxConnections,
    boolean passthrough,
    boolean enabled,
    SimSettings sim,
    boolean http2,
    Path caFile) {

  public static final int DEFAULT_MAX_CONNECTIONS = 4096;

  public ProviderConfig {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    headers = Map.copyOf(headers);
    Objects.requireNonNull(timeouts, "timeouts");
    apiKey = apiKey == null ? Secret.empty() : apiKey;
  }

  /** The same provider at another address (an in-process simulator learns its port at start). */
  public ProviderConfig withBaseUrl(URI url) {
    return new ProviderConfig(name, type, preset, url, apiKey, headers, timeouts, maxConnections, passthrough,
        enabled, sim, http2, caFile);
  }

  public boolean isSim() {
    return "sim".equals(type);
  }

  /** Settings of an in-process simulator. */
  public record SimSettings(String profile, long seed) {}
}
