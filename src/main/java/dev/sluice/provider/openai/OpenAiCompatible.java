package dev.sluice.provider.openai;

import dev.sluice.config.ProviderConfig;
import dev.sluice.deadline.BudgetParser;
import dev.sluice.envelope.Endpoint;
import dev.sluice.errors.SluiceHeaders;
import dev.sluice.provider.UpstreamRequest;
import io.vertx.core.MultiMap;
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
  private static final CharSequence IDENTITY = HttpHeaders.createOptimized("identity");

  private final String host;
  private final int port;
  private final boolean ssl;
  private final String basePath;
  /** The base URL's query with its '?' (Azure's {@code api-version}), or empty: after the endpoint's path. */
  private final String query;
  private final CharSequence authorization;
  private final Map<String, String> extraHeaders;
  private final String chatTokenLimit;

  public OpenAiCompatible(ProviderConfig provider) {
    URI u = provider.baseUrl();
    this.ssl = "https".equals(u.getScheme());
    this.host = u.getHost();
    this.port = u.getPort() > 0 ? u.getPort() : ssl ? 443 : 80;
    String path = u.getRawPath() == null ? "" : u.getRawPath();
    this.basePath = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    this.query = u.getRawQuery() == null || u.getRawQuery().isEmpty() ? "" : "?" + u.getRawQuery();
    this.authorization = provider.apiKey().isEmpty() ? null
        : HttpHeaders.createOptimized("Bearer " + provider.apiKey().reveal());
    this.extraHeaders = provider.headers();
    boolean openAi = "openai".equals(provider.preset()) || "api.openai.com".equals(host)
        || (host != null && host.endsWith(".openai.azure.com"));
    this.chatTokenLimit = openAi ? "max_completion_tokens" : "max_tokens";
  }

  /**
   * The member a token limit added by the gateway goes in. OpenAI's reasoning models refuse
   * {@code max_tokens} on chat and take {@code max_completion_tokens}, which its other models take
   * too, so OpenAI (its preset, its host or Azure's) gets that on chat; other OpenAI-compatible
   * servers get {@code max_tokens}, the member they all know, and legacy completions know no other.
   */
  public String tokenLimitField(Endpoint endpoint) {
    return endpoint == Endpoint.CHAT ? chatTokenLimit : "max_tokens";
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
        .setURI(basePath + endpoint.upstreamSuffix() + query)
        .setConnectTimeout(Math.max(1, connectMillis));
    MultiMap h = o.getHeaders() == null ? MultiMap.caseInsensitiveMultiMap() : o.getHeaders();
    h.set(HttpHeaders.CONTENT_TYPE, JSON);
    h.set(HttpHeaders.ACCEPT, stream ? EVENT_STREAM : JSON);
    // the answer is read (first token, usage, errors) and relayed as it is: ask for it uncompressed.
    // Without the header any coding is acceptable (RFC 9110 12.5.3), and a CDN front may use one
    h.set(HttpHeaders.ACCEPT_ENCODING, IDENTITY);
    if (authorization != null) {
      h.set(HttpHeaders.AUTHORIZATION, authorization);
    }
    if (remainingNanos != Long.MAX_VALUE) {
      h.set(SluiceHeaders.REQUEST_TIMEOUT, BudgetParser.formatMillis(remainingNanos));
    }
    if (requestId != null) {
      h.set("x-request-id", requestId);
    }
    extraHeaders.forEach(h::set);
    o.setHeaders(h);
    return new UpstreamRequest(o, body);
  }
}
