package dev.sluice.provider.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An OpenAI-compatible server that behaves like an LLM provider (DESIGN.md 3): latency
 * distributions, pacing, errors, 429s, hangs, resets, slow streams; deterministic under a seed
 * for sequential traffic. It runs inside the gateway as the default provider and on its own as
 * {@code sluice sim}.
 */
public final class Simulator {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Vertx vertx;
  private final SimProfile profile;
  private final SimStats stats = new SimStats();
  private final AtomicLong sequence = new AtomicLong();
  private final ConcurrentHashMap<String, RequestsPerMinute> limits = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Capacity> capacities = new ConcurrentHashMap<>();
  /** Behaviour changed at run time through {@code POST /sim/models/<name>} (outages, slowdowns). */
  private final ConcurrentHashMap<String, SimModel> overrides = new ConcurrentHashMap<>();
  private volatile String lastRequestTimeout;
  private volatile String lastAuthorization;
  private volatile String lastHttpVersion;
  private String deploymentId;
  private int port;

  private Simulator(Vertx vertx, SimProfile profile) {
    this.vertx = vertx;
    this.profile = profile;
  }

  /** Starts a simulator on {@code host:port} (0 for any free port) with one server per event loop. */
  public static Future<Simulator> start(Vertx vertx, SimProfile profile, String host, int port, int instances) {
    Simulator sim = new Simulator(vertx, profile);
    int bindPort = port == 0 && instances > 1 ? -1 : port;
    return vertx.deployVerticle(() -> sim.new Server(host, bindPort), new DeploymentOptions().setInstances(instances))
        .map(id -> {
          sim.deploymentId = id;
          return sim;
        });
  }

  /** The model's behaviour now: a run-time override, else the profile's. */
  SimModel model(String name) {
    SimModel o = overrides.get(name);
    return o != null ? o : profile.model(name);
  }

  /** Changes a model's behaviour from now on (tests and benchmarks). */
  public void override(String name, SimModel m) {
    overrides.put(name, m);
  }

  public int port() {
    return port;
  }

  public SimStats stats() {
    return stats;
  }

  public SimProfile profile() {
    return profile;
  }

  /** The {@code X-Request-Timeout} of the latest request, to check what the gateway forwarded. */
  public String lastRequestTimeout() {
    return lastRequestTimeout;
  }

  /** The {@code Authorization} header of the latest request. */
  public String lastAuthorization() {
    return lastAuthorization;
  }

  /** The HTTP version of the latest request ({@code HTTP_1_1}, {@code HTTP_2}). */
  public String lastHttpVersion() {
    return lastHttpVersion;
  }

  public Future<Void> close() {
    return deploymentId == null ? Future.succeededFuture() : vertx.undeploy(deploymentId);
  }

  private final class Server extends VerticleBase {
    private final String host;
    private final int bindPort;
    private HttpServer server;

    Server(String host, int bindPort) {
      this.host = host;
      this.bindPort = bindPort;
    }

    @Override
    public Future<?> start() {
      server = vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true).setIdleTimeout(0)
          .setInitialSettings(new io.vertx.core.http.Http2Settings().setMaxConcurrentStreams(100_000)));
      return server.requestHandler(this::handle).listen(bindPort, host).onSuccess(s -> port = s.actualPort());
    }

    @Override
    public Future<?> stop() {
      return server.close();
    }

    private void handle(HttpServerRequest req) {
      String path = req.path();
      if (req.method() == HttpMethod.GET) {
        switch (path) {
          case "/v1/models" -> models(req);
          case "/sim/stats" -> req.response().putHeader("content-type", "application/json").end(stats.toJson().encode());
          case "/health" -> req.response().end("{\"status\":\"ok\"}");
          default -> notFound(req);
        }
        return;
      }
      if (path.startsWith("/sim/models/") && req.method() == HttpMethod.POST) {
        control(req, path.substring("/sim/models/".length()));
        return;
      }
      SimExchange.Kind kind = switch (path) {
        case "/v1/chat/completions", "/chat/completions" -> SimExchange.Kind.CHAT;
        case "/v1/completions", "/completions" -> SimExchange.Kind.COMPLETIONS;
        case "/v1/embeddings", "/embeddings" -> SimExchange.Kind.EMBEDDINGS;
        default -> null;
      };
      if (kind == null || req.method() != HttpMethod.POST) {
        notFound(req);
        return;
      }
      lastRequestTimeout = req.getHeader("x-request-timeout");
      lastAuthorization = req.getHeader("authorization");
      lastHttpVersion = req.version().name();
      req.body().onSuccess(body -> exchange(req, kind, body));
    }

    private void exchange(HttpServerRequest req, SimExchange.Kind kind, Buffer body) {
      JsonNode json;
      try {
        json = JSON.readTree(body.getBytes());
      } catch (IOException e) {
        json = null;
      }
      if (json == null || !json.isObject()) {
        req.response().setStatusCode(400).putHeader("content-type", "application/json")
            .end("{\"error\":{\"message\":\"invalid JSON\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}");
        return;
      }
      String model = json.path("model").asText("sim");
      stats.request(model);
      SimModel base = model(model);
      SimModel m = SimProfile.apply(base, json.get("sim"));
      long id = sequence.incrementAndGet();
      SplittableRandom rnd = new SplittableRandom(profile.seed() * 0x9E3779B97F4A7C15L + id);
      int maxTokens = json.path("max_tokens").asInt(json.path("max_completion_tokens").asInt(0));
      RequestsPerMinute rpm = m.requestsPerMinute() > 0
          ? limits.computeIfAbsent(model, k -> new RequestsPerMinute(m.requestsPerMinute(), System.nanoTime()))
          : null;
      Capacity capacity = base.capacity() > 0
          ? capacities.computeIfAbsent(model + "#" + base.capacity(), k -> new Capacity(base.capacity()))
          : null;
      new SimExchange(vertx, req, stats, m, rnd, kind, model, json.path("stream").asBoolean(false),
          json.path("stream_options").path("include_usage").asBoolean(false), maxTokens, id,
          Math.max(1, body.length() / 4), rpm).withCapacity(capacity).withInputs(inputs(json.get("input")))
          .withChoices(json.path("n").asInt(1)).run();
    }

    /**
     * How many embeddings an {@code input} asks for: one per string or token list of an array, one
     * for a single string or a single token list (an array of numbers).
     */
    private static int inputs(JsonNode input) {
      if (input == null || !input.isArray() || input.isEmpty() || input.get(0).isNumber()) {
        return 1;
      }
      return input.size();
    }

    /** Changes a model's behaviour from now on: {@code POST /sim/models/<name>} with the profile's keys. */
    private void control(HttpServerRequest req, String name) {
      req.body().onSuccess(b -> {
        JsonNode n;
        try {
          n = JSON.readTree(b.getBytes());
        } catch (IOException e) {
          n = null;
        }
        if (n == null || !n.isObject() || name.isEmpty()) {
          req.response().setStatusCode(400).end("{\"error\":\"expected a JSON object of behaviour keys\"}");
          return;
        }
        override(name, SimProfile.apply(model(name), n));
        req.response().putHeader("content-type", "application/json").end("{\"model\":\"" + name + "\",\"updated\":true}");
      });
    }

    private void models(HttpServerRequest req) {
      JsonArray data = new JsonArray();
      profile.models().keySet().stream().sorted().forEach(name -> data.add(new JsonObject()
          .put("id", name).put("object", "model").put("created", 0).put("owned_by", "sluice-sim")));
      req.response().putHeader("content-type", "application/json")
          .end(new JsonObject().put("object", "list").put("data", data).encode());
    }

    private void notFound(HttpServerRequest req) {
      req.response().setStatusCode(404).putHeader("content-type", "application/json")
          .end("{\"error\":{\"message\":\"unknown path\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"not_found\"}}");
    }
  }

  /** Convenience for tests: a started simulator, waiting for it. */
  public static Simulator startBlocking(Vertx vertx, SimProfile profile) {
    Promise<Simulator> p = Promise.promise();
    start(vertx, profile, "127.0.0.1", 0, 1).onComplete(p);
    return p.future().await();
  }
}
