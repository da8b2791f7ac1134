package dev.sluice.server;

import dev.sluice.config.ProviderConfig;
import dev.sluice.errors.ApiError;
import dev.sluice.errors.ErrorResponder;
import dev.sluice.routing.Deployment;
import dev.sluice.routing.ModelGroup;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/** Tier-1 routes: health, readiness, version and the model list. Cheap and never upstream. */
final class InfoHandler {
  private final Services s;
  private final String modelsJson;
  /** Each listed model's own entry, by id, for {@code GET /v1/models/{model}}. */
  private final Map<String, String> modelJson = new HashMap<>();

  InfoHandler(Services s) {
    this.s = s;
    JsonObject list = modelList();
    this.modelsJson = list.encode();
    list.getJsonArray("data").forEach(m -> modelJson.putIfAbsent(((JsonObject) m).getString("id"),
        ((JsonObject) m).encode()));
  }

  void health(HttpServerRequest req) {
    json(req, 200, "{\"status\":\"ok\"}");
  }

  void ready(HttpServerRequest req) {
    int models = s.registry().groups().size();
    boolean ready = models > 0 || !s.registry().passthroughProviders().isEmpty();
    JsonObject body = new JsonObject()
        .put("status", ready ? "ready" : "not_ready")
        .put("models", models)
        .put("in_flight", s.ledger().requestsInFlight())
        .put("request_log", logState());
    if (!ready) {
      body.put("reason", "no model has a deployment on an enabled provider");
    }
    json(req, ready ? 200 : 503, body.encode());
  }

  private String logState() {
    var log = s.observability().log();
    return log == null ? "disabled" : log.degraded() ? "degraded" : "ok";
  }

  void version(HttpServerRequest req) {
    json(req, 200, new JsonObject()
        .put("name", "sluice")
        .put("version", s.version())
        .put("java", System.getProperty("java.version"))
        .encode());
  }

  void models(HttpServerRequest req) {
    json(req, 200, modelsJson);
  }

  /** One model as {@code GET /v1/models} lists it; a pass-through name is owned by its provider. */
  void model(HttpServerRequest req, String rawId) {
    String id;
    try {
      id = URLDecoder.decode(rawId.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      id = rawId;
    }
    String known = modelJson.get(id);
    ProviderConfig owner = known == null ? s.registry().passthroughProvider(id) : null;
    if (owner != null) {
      known = new JsonObject().put("id", id).put("object", "model").put("created", 0)
          .put("owned_by", owner.name()).encode();
    }
    if (known == null) {
      ErrorResponder.send(req.response(), ApiError.modelNotFound(id));
      return;
    }
    json(req, 200, known);
  }

  private JsonObject modelList() {
    JsonArray data = new JsonArray();
    for (ModelGroup g : s.registry().groups()) {
      Set<String> providers = new LinkedHashSet<>();
      for (Deployment d : g.deployments()) {
        providers.add(d.provider().name());
      }
      data.add(new JsonObject()
          .put("id", g.name())
          .put("object", "model")
          .put("created", 0)
          .put("owned_by", String.join(",", providers)));
    }
    s.config().models().values().forEach(m -> m.aliases().forEach(a -> {
      if (s.registry().find(a).isPresent()) {
        data.add(new JsonObject().put("id", a).put("object", "model").put("created", 0).put("owned_by", "alias:" + m.name()));
      }
    }));
    return new JsonObject().put("object", "list").put("data", data);
  }

  private static void json(HttpServerRequest req, int status, String body) {
    req.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body);
  }
}
