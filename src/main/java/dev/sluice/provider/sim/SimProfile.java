package dev.sluice.provider.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.sluice.config.Durations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The models a simulator offers and how each behaves. Models not named in the profile behave like
 * {@code defaults}. The same keys, given in a request body's {@code sim} object, override the
 * model's behaviour for that one request (handy for tests and demos).
 */
public record SimProfile(long seed, SimModel defaults, Map<String, SimModel> models) {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  public SimProfile {
    models = Map.copyOf(models);
  }

  public static SimProfile builtIn(long seed) {
    Map<String, SimModel> m = new LinkedHashMap<>();
    m.put("sim-fast", SimModel.FAST);
    m.put("sim-slow-flaky", SimModel.SLOW_FLAKY);
    return new SimProfile(seed, SimModel.FAST, m);
  }

  public SimModel model(String name) {
    return models.getOrDefault(name, defaults);
  }

  public SimProfile withSeed(long s) {
    return new SimProfile(s, defaults, models);
  }

  /**
   * Reads a profile:
   * <pre>
   * seed: 7
   * defaults: { first_token: 5ms, tokens_per_second: 1000 }
   * models:
   *   flaky: { error_rate: 0.5, error_statuses: [503] }
   * </pre>
   */
  public static SimProfile load(Path file, long seedOverride) throws IOException {
    JsonNode root = YAML.readTree(Files.readString(file));
    if (root == null || !root.isObject()) {
      throw new IOException("simulator profile " + file + " must be a mapping");
    }
    checkKeys(file, root, "", TOP_KEYS);
    checkModel(file, root.get("defaults"), "defaults");
    if (root.has("models") && !root.get("models").isObject()) {
      throw new IOException("simulator profile " + file + ": models must be a mapping of model name to settings");
    }
    for (Iterator<Map.Entry<String, JsonNode>> m = root.path("models").fields(); m.hasNext(); ) {
      var e = m.next();
      checkModel(file, e.getValue(), "models." + e.getKey());
    }
    long seed = seedOverride != Long.MIN_VALUE ? seedOverride : root.path("seed").asLong(1);
    SimModel defaults = root.has("defaults") ? apply(SimModel.FAST, root.get("defaults")) : SimModel.FAST;
    Map<String, SimModel> models = new LinkedHashMap<>();
    JsonNode ms = root.path("models");
    Iterator<Map.Entry<String, JsonNode>> it = ms.fields();
    while (it.hasNext()) {
      var e = it.next();
      models.put(e.getKey(), apply(defaults, e.getValue()));
    }
    if (models.isEmpty()) {
      models.putAll(builtIn(seed).models());
    }
    return new SimProfile(seed, defaults, models);
  }

  private static final List<String> TOP_KEYS = List.of("seed", "defaults", "models");
  /** Every key a model's settings may have (see {@link #apply}). */
  static final List<String> MODEL_KEYS = List.of("first_token", "header_delay", "tokens_per_second",
      "output_tokens", "min_output_tokens", "max_output_tokens", "error_rate", "error_statuses", "rate_limit_rate",
      "retry_after", "requests_per_minute", "hang_before_headers", "hang_mid_stream", "reset_mid_stream",
      "slow_stream", "slow_factor", "embedding_dims", "timestamps", "stream_error", "capacity");
  static final List<String> FIRST_TOKEN_KEYS = List.of("median", "p99", "tail_probability",
      "tail_multiplier");

  /** A misspelt key would otherwise leave its setting at the default without a word. */
  private static void checkModel(Path file, JsonNode n, String where) throws IOException {
    if (n == null || n.isNull()) {
      return;
    }
    if (!n.isObject()) {
      throw new IOException("simulator profile " + file + ": " + where + " must be a mapping of settings");
    }
    checkKeys(file, n, where + ".", MODEL_KEYS);
    if (n.path("first_token").isObject()) {
      checkKeys(file, n.get("first_token"), where + ".first_token.", FIRST_TOKEN_KEYS);
    }
  }

  private static void checkKeys(Path file, JsonNode n, String prefix, List<String> known) throws IOException {
    for (Iterator<String> k = n.fieldNames(); k.hasNext(); ) {
      String key = k.next();
      if (!known.contains(key)) {
        throw new IOException("simulator profile " + file + ": unknown key '" + prefix + key + "' (known: "
            + String.join(", ", known) + ")");
      }
    }
  }

  /** Overrides a model's behaviour with the keys present in {@code n} (profile entry or request's {@code sim}). */
  public static SimModel apply(SimModel b, JsonNode n) {
    if (n == null || !n.isObject() || n.isEmpty()) {
      return b;
    }
    LatencyDistribution ft = b.firstToken();
    JsonNode f = n.get("first_token");
    if (f != null) {
      if (f.isObject()) {
        long median = nanos(f.get("median"), ft.medianNanos());
        long p99 = nanos(f.get("p99"), median);
        ft = new LatencyDistribution(median, Math.max(p99, median),
            f.path("tail_probability").asDouble(0), f.path("tail_multiplier").asDouble(1));
      } else {
        ft = LatencyDistribution.fixed(nanos(f, ft.medianNanos()));
      }
    }
    List<Integer> statuses = b.errorStatuses();
    if (n.has("error_statuses")) {
      statuses = new ArrayList<>();
      for (JsonNode s : n.get("error_statuses")) {
        statuses.add(s.asInt());
      }
    }
    return new SimModel(
        ft,
        nanos(n.get("header_delay"), b.headerDelayNanos()),
        n.path("tokens_per_second").asDouble(b.tokensPerSecond()),
        n.path("min_output_tokens").asInt(n.path("output_tokens").asInt(b.minOutputTokens())),
        n.path("max_output_tokens").asInt(n.path("output_tokens").asInt(b.maxOutputTokens())),
        n.path("error_rate").asDouble(b.errorRate()),
        statuses,
        n.path("rate_limit_rate").asDouble(b.rateLimitRate()),
        n.path("retry_after").asLong(b.retryAfterSeconds()),
        n.path("requests_per_minute").asInt(b.requestsPerMinute()),
        n.path("hang_before_headers").asDouble(b.hangBeforeHeaders()),
        n.path("hang_mid_stream").asDouble(b.hangMidStream()),
        n.path("reset_mid_stream").asDouble(b.resetMidStream()),
        n.path("slow_stream").asDouble(b.slowStream()),
        n.path("slow_factor").asDouble(b.slowFactor()),
        n.path("embedding_dims").asInt(b.embeddingDims()),
        n.path("timestamps").asBoolean(b.timestamps()),
        n.path("stream_error").asDouble(b.streamError()),
        n.path("capacity").asInt(b.capacity()));
  }

  private static long nanos(JsonNode n, long def) {
    if (n == null || n.isNull()) {
      return def;
    }
    if (n.isNumber()) {
      return (long) (n.asDouble() * 1e6); // bare numbers are milliseconds here
    }
    String text = n.asText().trim();
    if (Durations.isZero(text)) {
      return 0;
    }
    long v = Durations.parseNanos(text);
    return v < 0 ? def : v;
  }
}
