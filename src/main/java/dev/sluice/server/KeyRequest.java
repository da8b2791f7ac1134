package dev.sluice.server;

import dev.sluice.admission.ApiKey;
import dev.sluice.admission.Priority;
import dev.sluice.errors.ApiError;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashSet;
import java.util.Set;

/** A request to create a key, checked field by field; and how a key is shown (never its secret). */
record KeyRequest(String name, Set<String> models, long rpm, long tpm, int maxConcurrency, Priority priority,
    int maxTokens) {

  private static final Set<String> FIELDS = Set.of("name", "models", "rpm", "tpm", "max_concurrency", "priority",
      "max_tokens");

  static KeyRequest parse(Buffer body) {
    JsonObject o;
    try {
      o = body == null || body.length() == 0 ? null : new JsonObject(body);
    } catch (DecodeException | ClassCastException e) {
      throw ApiError.invalid("invalid_json", null, "the body must be a JSON object").rejection();
    }
    if (o == null) {
      throw ApiError.invalid("invalid_json", null, "the body must be a JSON object with at least a name").rejection();
    }
    for (String f : o.fieldNames()) {
      if (!FIELDS.contains(f)) {
        throw ApiError.invalid("unknown_parameter", f, "unknown field '" + f + "'; expected " + FIELDS).rejection();
      }
    }
    Object n = o.getValue("name");
    if (!(n instanceof String name)) {
      throw ApiError.invalid("invalid_value", "name", "name must be a string").rejection();
    }
    String problem = ApiKey.nameProblem(name);
    if (problem != null) {
      throw ApiError.invalid("invalid_value", "name", problem).rejection();
    }
    Set<String> models = new LinkedHashSet<>();
    Object m = o.getValue("models");
    if (m instanceof JsonArray a) {
      for (Object x : a) {
        if (!(x instanceof String s) || s.isBlank() || s.contains(",")) {
          throw ApiError.invalid("invalid_value", "models", "models must be a list of model names").rejection();
        }
        models.add(s.trim());
      }
    } else if (m instanceof String s) {
      models.addAll(ApiKey.modelNames(java.util.Arrays.asList(s.split(","))));
    } else if (m != null) {
      throw ApiError.invalid("invalid_type", "models", "models must be a list of model names").rejection();
    }
    if (m != null && models.isEmpty()) {
      // no models means every model: an empty list or text (a template's unset variable, a filter that
      // matched nothing) must not grant that
      throw ApiError.invalid("invalid_value", "models", "models names no model; leave it out to allow every model")
          .rejection();
    }
    Priority p = Priority.NORMAL;
    if (o.getValue("priority") != null) {
      p = o.getValue("priority") instanceof String ps ? Priority.parse(ps) : null;
      if (p == null) {
        throw ApiError.invalid("invalid_value", "priority", "priority must be high, normal or low").rejection();
      }
    }
    return new KeyRequest(name.trim(), models, positive(o, "rpm"), positive(o, "tpm"),
        (int) positive(o, "max_concurrency"), p, (int) positive(o, "max_tokens"));
  }

  private static long positive(JsonObject o, String f) {
    Object v = o.getValue(f);
    if (v == null) {
      return -1;
    }
    if (!(v instanceof Number num) || num.doubleValue() != Math.rint(num.doubleValue()) || num.longValue() < 1
        || num.longValue() > Integer.MAX_VALUE) {
      throw ApiError.invalid("invalid_value", f, f + " must be a positive whole number").rejection();
    }
    return num.longValue();
  }

  static JsonObject toJson(ApiKey k) {
    return new JsonObject()
        .put("id", k.id())
        .put("name", k.name())
        .put("prefix", k.prefix())
        .put("models", new JsonArray(k.models().stream().toList()))
        .put("rpm", k.rpm() < 0 ? null : k.rpm())
        .put("tpm", k.tpm() < 0 ? null : k.tpm())
        .put("max_concurrency", k.maxConcurrency() < 0 ? null : k.maxConcurrency())
        .put("priority", k.priority().label())
        .put("max_tokens", k.maxTokens() < 0 ? null : k.maxTokens())
        .put("created_at", k.createdAt())
        .put("revoked_at", k.revokedAt() < 0 ? null : k.revokedAt());
  }
}
