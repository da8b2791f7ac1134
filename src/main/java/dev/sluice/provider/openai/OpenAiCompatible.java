package dev.sluice.provider.openai;

import dev.sluice.config.ProviderConfig;
import dev.sluice.deadline.BudgetParser;
import dev.sluice.envelope.Endpoint;
import dev.sluice.errors.SluiceHeaders;
import dev.sluice.provider.UpstreamRequest;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.util.Map;

/**
 * The adapter for every OpenAI-compatible server (OpenAI, Groq, GLM, Kimi, Ollama, vLLM, the
 * simulator): the body goes as it is; the adapter adds the provider's address, its credentials,
 * and the remaining time budget as {@code X-Request-Timeout}.
 */
public final class OpenAiCompatible {
  private static final CharSequence JSON = HttpHeaders.createOptimized("application/json");
  private static final CharSequence EVENT_STREAM = HttpHeaders.createOptimized("text/event-stream");
  private static final CharSequence X_REQUEST_TIMEOUT = HttpHeaders.createOptimized("x-request-timeout");

  private final String host;
  private final int port;
  private final boolean ssl;
  private final String basePath;
  private final CharSequence authorization;
  /** The provider's own headers, names and values alternating, set last. */
  private final CharSequence[] extraHeaders;

  public OpenAiCompatible(ProviderConfig provider) {
    URI u = provider.baseUrl();
    this.ssl = "https".equals(u.getScheme());
    this.host = u.getHost();
    this.port = u.getPort() > 0 ? u.getPort() : ssl ? 443 : 80;
    String path = u.getRawPath() == null ? "" : u.getRawPath();
    this.basePath = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    this.authorization = provider.apiKey().isEmpty() ? null
        : HttpHeaders.createOptimized("Bearer " + provider.apiKey().reveal());
    Map<String, String> extra = provider.headers();
    this.extraHeaders = new CharSequence[extra.size() * 2];
    int i = 0;
    for (Map.Entry<String, String> e : extra.entrySet()) {
      extraHeaders[i++] = HttpHeaders.createOptimized(e.getKey());
      extraHeaders[i++] = e.getValue();
    }
  }

  /**
   * @param remainingNanos the request's remaining budget, or {@code Long.MAX_VALUE}
   * @param connectMillis  how long obtaining a connection may take
   */
  public UpstreamRequest request(Endpoint endpoint, boolean stream, Buffer body, long remainingNanos,
      long connectMillis, String requestId) {
    RequestOptions o = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setHost(host)
        .setPort(port)
        .setSsl(ssl)
        .setURI(basePath + endpoint.upstreamSuffix())
        .setConnectTimeout(Math.max(1, connectMillis));
    CharSequence[] h = new CharSequence[10 + extraHeaders.length];
    int n = 0;
    h[n++] = HttpHeaders.CONTENT_TYPE;
    h[n++] = JSON;
    h[n++] = HttpHeaders.ACCEPT;
    h[n++] = stream ? EVENT_STREAM : JSON;
    if (authorization != null) {
      h[n++] = HttpHeaders.AUTHORIZATION;
      h[n++] = authorization;
    }
    if (remainingNanos != Long.MAX_VALUE) {
      h[n++] = X_REQUEST_TIMEOUT;
      h[n++] = BudgetParser.formatMillis(remainingNanos);
    }
    if (requestId != null) {
      h[n++] = SluiceHeaders.REQUEST_ID;
      h[n++] = requestId;
    }
    System.arraycopy(extraHeaders, 0, h, n, extraHeaders.length);
    n += extraHeaders.length;
    return new UpstreamRequest(o, n == h.length ? h : java.util.Arrays.copyOf(h, n), body);
  }
}
