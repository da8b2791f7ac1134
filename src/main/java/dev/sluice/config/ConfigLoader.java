package dev.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a YAML configuration, substitutes {@code ${VAR}} and {@code ${VAR:-default}} from the
 * environment, applies provider presets, and validates everything, including timeout hierarchies
 * that cannot work. Every problem is reported with its path and line.
 */
public final class ConfigLoader {
  public static final String DEFAULT_RESOURCE = "/sluice-default.yaml";
  private static final Pattern VAR = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");
  // a key written twice would otherwise silently replace the first (a second `providers:` drops the first)
  private static final ObjectMapper YAML = new ObjectMapper(YAMLFactory.builder()
      .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .build());

  private final Map<String, String> env;

  public ConfigLoader(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  public static ConfigLoader fromEnvironment() {
    return new ConfigLoader(System.getenv());
  }

  /** The outcome of reading a configuration: the config when there are no errors, and all problems. */
  public record Result(SluiceConfig config, List<ConfigProblem> problems) {
    public boolean ok() {
      return config != null;
    }

    public List<ConfigProblem> warnings() {
      return problems.stream().filter(p -> p.severity() == ConfigProblem.Severity.WARNING).toList();
    }
  }

  public Result check(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      // the JDK's messages for the common cases are only the path again
      String why = e instanceof java.nio.charset.CharacterCodingException ? "not UTF-8 text"
          : FileErrors.reason(e) != null ? FileErrors.reason(e) : e.getMessage();
      return new Result(null, List.of(new ConfigProblem(ConfigProblem.Severity.ERROR, "", 0,
          "cannot read " + file + ": " + why)));
    }
    Path dir = file.toAbsolutePath().getParent();
    return check(text, file.toString(), dir == null ? Path.of(".") : dir, false);
  }

  public SluiceConfig load(Path file) {
    return orThrow(check(file), file.toString());
  }

  /** The built-in configuration: model {@code demo} on simulated deployments, presets from the environment. */
  public Result checkDefault() {
    try (InputStream in = ConfigLoader.class.getResourceAsStream(DEFAULT_RESOURCE)) {
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      return check(text, "built-in default", Path.of("."), true);
    } catch (IOException e) {
      throw new IllegalStateException("the built-in configuration is missing from the jar", e);
    }
  }

  public SluiceConfig loadDefault() {
    return orThrow(checkDefault(), "built-in default");
  }

  public SluiceConfig loadText(String yaml, String source) {
    return orThrow(check(yaml, source, Path.of("."), false), source);
  }

  private static SluiceConfig orThrow(Result r, String source) {
    if (!r.ok()) {
      throw new ConfigException(source, r.problems().stream()
          .filter(p -> p.severity() == ConfigProblem.Severity.ERROR).toList());
    }
    return r.config();
  }

  /**
   * @param quietAutoOff true for the built-in configuration, where presets without keys are
   *                     expected to be off and are not worth a warning
   */
  public Result check(String yaml, String source, Path baseDir, boolean quietAutoOff) {
    YamlLocator locator = YamlLocator.of(yaml);
    Problems problems = new Problems(locator);
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (IOException e) {
      String msg = e.getMessage() == null ? e.toString() : e.getMessage().split("\n")[0];
      int line = e instanceof com.fasterxml.jackson.core.JsonProcessingException jpe && jpe.getLocation() != null
          ? jpe.getLocation().getLineNr() : 0;
      return new Result(null, List.of(new ConfigProblem(ConfigProblem.Severity.ERROR, "", line,
          "not valid YAML: " + msg)));
    }
    if (root == null || root.isMissingNode()) {
      root = YAML.createObjectNode();
    }
    List<ConfigProblem> aliases = aliases(yaml);
    if (!aliases.isEmpty()) {
      return new Result(null, aliases);
    }
    root = interpolate(root, "", problems);
    Section top = new Section(root, "", problems);

    ServerConfig server = server(top.section("server"));
    DeadlineConfig deadline = deadline(top.section("deadline"), problems);
    Map<String, ProviderConfig> providers = providers(top, deadline, baseDir, problems, quietAutoOff);
    ResilienceConfig resilience = ResilienceParser.parse(top.section("resilience"), ResilienceConfig.DEFAULTS);
    Map<String, List<String>> fallbacks = new LinkedHashMap<>();
    Section fb = top.section("fallbacks");
    fb.keys().forEach(k -> fallbacks.put(k, fb.strings(k)));
    Map<String, ModelConfig> models = models(top, providers, deadline, resilience, fallbacks, problems, quietAutoOff);
    checkFallbacks(fb, models, fallbacks, problems);
    StoreConfig store = store(top.section("store"));
    AdmissionConfig admission = admission(top.section("admission"));
    Section admin = top.section("admin");
    String adminKey = admin.string("key", env.getOrDefault("SLUICE_ADMIN_KEY", ""));
    admin.rejectUnknown();
    top.rejectUnknown();
    if (problems.hasErrors()) {
      return new Result(null, problems.all());
    }
    return new Result(new SluiceConfig(server, deadline, resilience, store, admission, Secret.of(adminKey), providers, models,
        source), problems.all());
  }

  /**
   * Jackson's YAML tree reader does not resolve aliases: {@code *name} becomes the text "name" (an
   * {@code api_key: *k} would silently send "k"). Until they are resolved, they are refused.
   */
  private static List<ConfigProblem> aliases(String yaml) {
    List<ConfigProblem> out = new java.util.ArrayList<>();
    try (var p = (com.fasterxml.jackson.dataformat.yaml.YAMLParser) new YAMLFactory().createParser(yaml)) {
      while (p.nextToken() != null) {
        if (p.isCurrentAlias()) {
          out.add(new ConfigProblem(ConfigProblem.Severity.ERROR, "", p.currentTokenLocation().getLineNr(),
              "YAML aliases (*" + p.getText() + ") are not supported; write the value out"));
        }
      }
    } catch (IOException e) {
      // reported by the tree reader
    }
    return out;
  }

  // ---- environment -------------------------------------------------------------------------

  private JsonNode interpolate(JsonNode node, String path, Problems problems) {
    if (node.isTextual()) {
      String s = node.asText();
      if (!s.contains("${")) {
        return node;
      }
      Matcher m = VAR.matcher(s);
      StringBuilder out = new StringBuilder();
      while (m.find()) {
        String value = env.get(m.group(1));
        if (value == null || value.isEmpty()) {
          if (m.group(2) == null) {
            // a misspelt variable would otherwise pass unnoticed; ${VAR:-} says "empty is fine"
            problems.warning(path.startsWith(".") ? path.substring(1) : path,
                "environment variable " + m.group(1) + " is not set; using an empty value");
          }
          value = m.group(2) == null ? "" : m.group(2);
        }
        m.appendReplacement(out, Matcher.quoteReplacement(value));
      }
      m.appendTail(out);
      return TextNode.valueOf(out.toString());
    }
    if (node.isObject()) {
      ObjectNode copy = YAML.createObjectNode();
      node.fields().forEachRemaining(e -> copy.set(e.getKey(), interpolate(e.getValue(), path + "." + e.getKey(), problems)));
      return copy;
    }
    if (node.isArray()) {
      var copy = YAML.createArrayNode();
      for (int i = 0; i < node.size(); i++) {
        copy.add(interpolate(node.get(i), path + "[" + i + "]", problems));
      }
      return copy;
    }
    return node;
  }

  // ---- sections ----------------------------------------------------------------------------

  private static AdmissionConfig admission(Section s) {
    AdmissionConfig d = AdmissionConfig.DEFAULTS;
    Section q = s.section("queue");
    Section sh = q.section("shares");
    java.util.Map<String, Double> shares = new java.util.LinkedHashMap<>();
    for (String p : List.of("high", "normal", "low")) {
      shares.put(p, sh.decimal(p, d.shares().get(p), 0, 1));
    }
    sh.rejectUnknown();
    double sum = shares.values().stream().mapToDouble(Double::doubleValue).sum();
    if (sum <= 0) {
      s.problems().error(sh.path(), "the queue shares must not all be zero");
    }
    int size = q.integer("size", d.queueSize(), 0, 1_000_000);
    java.time.Duration maxWait = d.queueMaxWait();
    String mw = q.string("max_wait", null);
    if (mw != null && mw.trim().equalsIgnoreCase("none")) {
      maxWait = null;
    } else if (mw != null && mw.trim().equalsIgnoreCase("auto")) {
      maxWait = AdmissionConfig.AUTO_WAIT;
    } else if (mw != null) {
      maxWait = q.duration("max_wait", null);
    }
    q.rejectUnknown();
    Section m = s.section("memory");
    double high = m.decimal("high_watermark", d.memoryHigh(), 0.1, 1);
    double low = m.decimal("low_watermark", Math.min(d.memoryLow(), high), 0.05, 1);
    if (low > high) {
      s.problems().error(m.child("low_watermark"), "low_watermark " + low + " is above high_watermark " + high);
    }
    m.rejectUnknown();
    Section l = s.section("concurrency");
    String alg = l.string("algorithm", d.limit().algorithm()).toLowerCase(Locale.ROOT);
    if (!List.of("gradient", "vegas", "tail", "aimd", "fixed").contains(alg)) {
      s.problems().error(l.child("algorithm"), "unknown algorithm '" + alg + "'; expected gradient, vegas, tail, aimd or fixed");
    }
    // defaults bend around what the user wrote: `initial: 1` alone means a limit of one, not an error
    // against the default floor
    boolean hasMin = l.has("min");
    boolean hasMax = l.has("max");
    boolean hasInitial = l.has("initial");
    int given = l.integer("initial", d.limit().initial(), 1, 1_000_000);
    int min = l.integer("min", hasInitial ? Math.min(d.limit().min(), given) : d.limit().min(), 1, 1_000_000);
    int max = l.integer("max", hasInitial ? Math.max(d.limit().max(), given) : d.limit().max(), 1, 1_000_000);
    int initial = hasInitial ? given : Math.max(min, Math.min(max, d.limit().initial()));
    if (!hasInitial && (hasMin || hasMax)) {
      initial = Math.max(min, Math.min(max, initial));
    }
    // Vegas without a tolerance keeps the library's own thresholds (0 says so)
    double tolerance = "vegas".equals(alg) && !l.has("tolerance") ? 0 : l.decimal("tolerance", d.limit().tolerance(), 1, 10);
    if ("tail".equals(alg) && tolerance <= 1) {
      s.problems().error(l.child("tolerance"), "the tail algorithm needs a tolerance above 1 (the tail may grow to tolerance"
          + " x its best before the limit comes down)");
    }
    if (min > max || initial < min || initial > max) {
      s.problems().error(l.path(), "concurrency limits must satisfy min <= initial <= max; found " + min + " <= "
          + initial + " <= " + max);
    }
    l.rejectUnknown();
    AdmissionConfig c = new AdmissionConfig(s.integer("max_in_flight", d.maxInFlight(), 1, 10_000_000), size, maxWait,
        shares,
        high, low, new AdmissionConfig.Limit(alg, initial, min, max, tolerance),
        s.bool("open_without_keys", d.openWithoutKeys()));
    s.rejectUnknown();
    return c;
  }

  private static StoreConfig store(Section s) {
    StoreConfig d = StoreConfig.DEFAULTS;
    StoreConfig c = new StoreConfig(
        s.string("url", d.url()).trim(),
        s.string("user", d.user()),
        Secret.of(s.string("password", "")),
        s.duration("retention", d.retention()),
        s.integer("batch_size", d.batchSize(), 1, 10_000),
        s.integer("buffer", d.buffer(), 1, 10_000_000),
        s.duration("statement_timeout", d.statementTimeout()));
    if (c.statementTimeout().toMillis() < 1 || c.statementTimeout().compareTo(Duration.ofHours(24)) > 0) {
      s.problems().error(s.child("statement_timeout"), "must be from 1ms to 24h, found "
          + Durations.format(c.statementTimeout()));
    }
    if (!(c.url().equals("sqlite") || c.url().startsWith("sqlite:") || c.postgres() || !c.enabled())) {
      s.problems().error(s.child("url"), "expected sqlite, sqlite:PATH, a PostgreSQL URL or none, found '"
          + c.url() + "'");
    }
    s.rejectUnknown();
    return c;
  }

  private static ServerConfig server(Section s) {
    ServerConfig d = ServerConfig.DEFAULTS;
    ServerConfig c = new ServerConfig(
        s.string("host", d.host()),
        s.integer("port", d.port(), 0, 65535),
        s.integer("event_loops", d.eventLoops(), 0, 256),
        s.size("max_body_size", d.maxBodyBytes()),
        s.integer("max_messages", d.maxMessages(), 1, 1_000_000),
        s.bool("metrics", d.metrics()),
        s.string("transport", d.transport()).trim().toLowerCase(Locale.ROOT));
    String transportProblem = ServerConfig.transportProblem(c.transport());
    if (transportProblem != null) {
      s.problems().error(s.child("transport"), transportProblem);
    }
    s.rejectUnknown();
    return c;
  }

  private DeadlineConfig deadline(Section s, Problems problems) {
    DeadlineConfig d = DeadlineConfig.DEFAULTS;
    Duration cap = s.duration("cap", d.cap());
    boolean skip = s.bool("skip", d.skip()) || "true".equalsIgnoreCase(env.getOrDefault("SLUICE_DEADLINE_SKIP", ""));
    Section t = s.section("tiers");
    // a default tier beyond a lowered cap is cut to it (as the deadline would be at run time); only
    // a tier the user wrote beyond the cap is a mistake
    DeadlineConfig c = new DeadlineConfig(cap, skip,
        tier(t, "info", d.info(), cap),
        tier(t, "inference", d.inference(), cap),
        tier(t, "inference_stream", d.inferenceStream(), cap),
        tier(t, "files", d.files(), cap),
        tier(t, "workflows", d.workflows(), cap));
    t.rejectUnknown();
    s.rejectUnknown();
    Map<String, Duration> tiers = new LinkedHashMap<>();
    tiers.put("info", c.info());
    tiers.put("inference", c.inference());
    tiers.put("inference_stream", c.inferenceStream());
    tiers.put("files", c.files());
    tiers.put("workflows", c.workflows());
    tiers.forEach((name, v) -> {
      if (v.compareTo(cap) > 0) {
        problems.error(t.child(name), "tier deadline " + Durations.format(v)
            + " is beyond the gateway cap " + Durations.format(cap) + " (deadline.cap); the cap would always win");
      }
    });
    return c;
  }

  private static Duration tier(Section tiers, String name, Duration def, Duration cap) {
    return tiers.has(name) ? tiers.duration(name, def) : (def.compareTo(cap) > 0 ? cap : def);
  }

  private Map<String, ProviderConfig> providers(Section top, DeadlineConfig deadline, Path baseDir,
      Problems problems, boolean quiet) {
    Map<String, ProviderConfig> out = new LinkedHashMap<>();
    top.entries("providers").forEach((name, s) -> {
      Section timeouts = s.section("timeouts"); // read once: its problems are reported once
      ProviderConfig p = provider(name, s, timeouts, baseDir, problems, quiet);
      Set<String> explicit = explicitKeys(timeouts);
      if (p.enabled() || !explicit.isEmpty()) {
        checkTimeouts(s.child("timeouts"), p.timeouts(), deadline, explicit, quiet, problems);
      }
      out.put(name, p);
    });
    return out;
  }

  private ProviderConfig provider(String name, Section s, Section timeoutsSection, Path baseDir, Problems problems,
      boolean quiet) {
    String presetName = s.string("preset", Preset.find(name).isPresent() ? name : null);
    Preset preset = null;
    if (presetName != null) {
      preset = Preset.find(presetName).orElse(null);
      if (preset == null) {
        problems.error(s.child("preset"), "unknown preset '" + presetName + "'; known: " + Preset.ALL.keySet());
      }
    }
    String type = s.string("type", "sim".equals(name) && preset == null ? "sim" : "openai").toLowerCase(Locale.ROOT);
    if (!type.equals("openai") && !type.equals("sim")) {
      problems.error(s.child("type"), "unknown provider type '" + type + "'; expected openai or sim");
    }
    Timeouts base = preset != null ? preset.timeouts() : Timeouts.DEFAULTS;
    Timeouts timeouts = timeouts(timeoutsSection, base);

    String explicitUrl = s.string("base_url", null);
    String explicitKey = s.string("api_key", null);
    String url = explicitUrl;
    boolean hostFromEnv = false;
    if ((url == null || url.isBlank()) && preset != null) {
      String host = preset.hostEnv() == null ? null : env.get(preset.hostEnv());
      hostFromEnv = host != null && !host.isBlank();
      url = hostFromEnv ? Preset.baseUrlFromHost(host) : preset.baseUrl();
    }
    String key = explicitKey;
    if ((key == null || key.isEmpty()) && preset != null && preset.keyEnv() != null) {
      key = env.getOrDefault(preset.keyEnv(), "");
    }

    URI uri = null;
    if (type.equals("openai")) {
      if (url == null || url.isBlank()) {
        problems.error(s.child("base_url"), "an OpenAI-compatible provider needs base_url (or a preset)");
      } else {
        uri = parseUrl(url, s.child("base_url"), problems);
      }
    }

    String enabledText = s.string("enabled", "auto").trim().toLowerCase(Locale.ROOT);
    boolean enabled;
    String offReason = null;
    switch (enabledText) {
      case "true", "yes", "on" -> enabled = true;
      case "false", "no", "off" -> {
        enabled = false;
        offReason = "enabled: false";
      }
      case "auto", "" -> {
        enabled = true;
        if (preset != null && preset.keyEnv() != null && (key == null || key.isEmpty())) {
          enabled = false;
          offReason = preset.keyEnv() + " is not set and no api_key is given";
        } else if (preset != null && preset.hostEnv() != null && explicitUrl == null && !hostFromEnv && quiet) {
          enabled = false;
          offReason = preset.hostEnv() + " is not set";
        }
      }
      default -> {
        problems.error(s.child("enabled"), "expected true, false or auto, found '" + enabledText + "'");
        enabled = false;
      }
    }
    if (!enabled && offReason != null && !quiet) {
      problems.warning(s.path(), "provider '" + name + "' is off: " + offReason);
    }

    ProviderConfig.SimSettings sim = null;
    if (type.equals("sim")) {
      String profile = s.string("profile", null);
      if (profile != null && !profile.isBlank()) {
        Path p = baseDir.resolve(profile);
        if (!Files.isRegularFile(p)) {
          problems.error(s.child("profile"), "simulator profile " + p + " does not exist");
        } else {
          // the gateway loads it at start; a profile it cannot read must fail the check, not the start
          try {
            dev.sluice.provider.sim.SimProfile.load(p, 1);
          } catch (IOException | RuntimeException e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().split("\n")[0];
            problems.error(s.child("profile"), "simulator profile " + p + " cannot be loaded: " + msg);
          }
        }
        profile = p.toString();
      }
      // without `seed:` here, a profile's own `seed:` applies (as for `sluice sim --profile`), else 1
      long seed = s.has("seed") ? s.longValue("seed", 1L) : profile == null ? 1L : Long.MIN_VALUE;
      sim = new ProviderConfig.SimSettings(profile, seed);
    } else {
      s.has("profile");
      s.has("seed");
    }
    int maxConn = s.integer("max_connections", ProviderConfig.DEFAULT_MAX_CONNECTIONS, 1, 1_000_000);
    boolean passthrough = s.bool("passthrough", preset != null);
    Map<String, String> headers = s.stringMap("headers");
    boolean http2 = s.bool("http2", false);
    Path caFile = caFile(s, baseDir, uri, problems);
    s.rejectUnknown();
    return new ProviderConfig(name, type, preset == null ? null : preset.name(), uri, Secret.of(key), headers,
        timeouts, maxConn, passthrough, enabled, sim, http2, caFile);
  }

  /**
   * {@code ca_file}: a PEM file of certificate authorities to trust for the provider's TLS instead of
   * the JVM's (a self-hosted server with an internal CA). Checked here so that a wrong path or a file
   * without a certificate is a configuration error, not a failure on the first request.
   */
  private static Path caFile(Section s, Path baseDir, URI uri, Problems problems) {
    String text = s.string("ca_file", null);
    if (text == null || text.isBlank()) {
      return null;
    }
    Path p = baseDir.resolve(text.trim());
    if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
      problems.error(s.child("ca_file"), "CA file " + p + " does not exist or cannot be read");
      return null;
    }
    try {
      if (!Files.readString(p, java.nio.charset.StandardCharsets.US_ASCII).contains("-----BEGIN CERTIFICATE-----")) {
        problems.error(s.child("ca_file"), "CA file " + p + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        return null;
      }
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      problems.error(s.child("ca_file"), "CA file " + p + " cannot be read: " + e.getMessage());
      return null;
    }
    if (uri != null && !"https".equals(uri.getScheme())) {
      problems.warning(s.child("ca_file"), "ca_file is only used for https:// base URLs; this provider's is " + uri);
    }
    return p;
  }

  private static URI parseUrl(String url, String path, Problems problems) {
    try {
      URI u = new URI(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
      if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https")) || u.getHost() == null) {
        problems.error(path, "expected an http:// or https:// URL, found '" + url + "'");
        return null;
      }
      if (u.getRawUserInfo() != null) {
        // not sent by the gateway: every request would be refused, and the URL is not repeated here
        problems.error(path, "a user and password in the URL are not sent; give them in the provider's headers "
            + "(Authorization: Basic ...) or as its api_key");
        return null;
      }
      return u;
    } catch (java.net.URISyntaxException e) {
      problems.error(path, "not a valid URL: '" + url + "'");
      return null;
    }
  }

  private static Timeouts timeouts(Section s, Timeouts base) {
    Timeouts t = new Timeouts(
        s.duration("connect", base.connect()),
        s.duration("first_byte", base.firstByte()),
        s.duration("first_token", base.firstToken()),
        s.duration("idle", base.idle()),
        s.duration("total", base.total()),
        s.duration("stream_total", base.streamTotal()));
    s.rejectUnknown();
    return t;
  }

  private static final List<String> TIMEOUT_KEYS =
      List.of("connect", "first_byte", "first_token", "idle", "total", "stream_total");

  private static Set<String> explicitKeys(Section timeouts) {
    Set<String> out = new HashSet<>();
    for (String k : TIMEOUT_KEYS) {
      if (timeouts.has(k)) {
        out.add(k);
      }
    }
    return out;
  }

  /**
   * Inner guards must fit inside outer ones, and attempts inside their route's deadline. A preset's
   * own default that outlives the route deadline is only worth a warning (the deadline clips it);
   * a value the user wrote that can never be used is an error.
   */
  private static void checkTimeouts(String path, Timeouts t, DeadlineConfig deadline, Set<String> explicit,
      boolean quiet, Problems problems) {
    if (t.connect().compareTo(t.firstByte()) > 0) {
      problems.error(path + ".connect", "connect " + Durations.format(t.connect())
          + " is longer than first_byte " + Durations.format(t.firstByte()) + "; first_byte includes connecting");
    }
    if (t.connect().compareTo(t.firstToken()) > 0) {
      problems.error(path + ".connect", "connect " + Durations.format(t.connect())
          + " is longer than first_token " + Durations.format(t.firstToken()) + "; first_token includes connecting");
    }
    if (t.firstByte().compareTo(t.total()) > 0) {
      problems.error(path + ".first_byte", "first_byte " + Durations.format(t.firstByte())
          + " is longer than total " + Durations.format(t.total()) + "; total would always fire first");
    }
    if (t.firstToken().compareTo(t.streamTotal()) > 0) {
      problems.error(path + ".first_token", "first_token " + Durations.format(t.firstToken())
          + " is longer than stream_total " + Durations.format(t.streamTotal()) + "; stream_total would always fire first");
    }
    if (t.idle().compareTo(t.streamTotal()) > 0) {
      problems.warning(path + ".idle", "idle " + Durations.format(t.idle())
          + " is longer than stream_total " + Durations.format(t.streamTotal()) + "; it can never fire");
    }
    if (deadline != null) {
      // a guard the user wrote beyond its route deadline can never fire, whatever total says
      if (t.firstByte().compareTo(deadline.inference()) > 0 && explicit.contains("first_byte")) {
        report(problems, deadline.skip(), path + ".first_byte", "first_byte " + Durations.format(t.firstByte())
            + " is longer than the route deadline " + Durations.format(deadline.inference())
            + " (deadline.tiers.inference); it could never fire");
      }
      if (t.firstToken().compareTo(deadline.inferenceStream()) > 0 && explicit.contains("first_token")) {
        report(problems, deadline.skip(), path + ".first_token", "first_token " + Durations.format(t.firstToken())
            + " is longer than the route deadline " + Durations.format(deadline.inferenceStream())
            + " (deadline.tiers.inference_stream); it could never fire");
      }
      if (t.total().compareTo(deadline.inference()) > 0 && (explicit.contains("total") || !quiet)) {
        report(problems, deadline.skip() || !explicit.contains("total"), path + ".total", "attempt total " + Durations.format(t.total())
            + " is longer than the route deadline " + Durations.format(deadline.inference())
            + " (deadline.tiers.inference); the attempt could never use it");
      }
      if (t.streamTotal().compareTo(deadline.inferenceStream()) > 0 && (explicit.contains("stream_total") || !quiet)) {
        report(problems, deadline.skip() || !explicit.contains("stream_total"), path + ".stream_total", "attempt stream_total " + Durations.format(t.streamTotal())
            + " is longer than the route deadline " + Durations.format(deadline.inferenceStream())
            + " (deadline.tiers.inference_stream)");
      }
    }
  }

  private static void report(Problems problems, boolean tolerated, String path, String message) {
    if (tolerated) {
      problems.warning(path, message + " (the deadline clips it)");
    } else {
      problems.error(path, message);
    }
  }

  private static void checkFallbacks(Section fb, Map<String, ModelConfig> models,
      Map<String, List<String>> topLevel, Problems problems) {
    Set<String> names = new HashSet<>();
    models.values().forEach(m -> {
      names.add(m.name());
      names.addAll(m.aliases());
    });
    topLevel.keySet().forEach(k -> {
      if (!names.contains(k)) {
        problems.error(fb.child(k), "fallbacks for '" + k + "', which is not a configured model");
      }
    });
    models.values().forEach(m -> m.fallbacks().forEach(f -> {
      if (!names.contains(f)) {
        String where = topLevel.containsKey(m.name()) ? fb.child(m.name()) : "models." + m.name() + ".fallbacks";
        problems.error(where, "fallback '" + f + "' of model '" + m.name() + "' is not a configured model");
      } else if (f.equals(m.name()) || m.aliases().contains(f)) {
        problems.error("models." + m.name() + ".fallbacks", "model '" + m.name() + "' cannot fall back to itself");
      }
    }));
  }

  private Map<String, ModelConfig> models(Section top, Map<String, ProviderConfig> providers,
      DeadlineConfig deadline, ResilienceConfig resilience, Map<String, List<String>> topFallbacks,
      Problems problems, boolean quiet) {
    Map<String, ModelConfig> out = new LinkedHashMap<>();
    Set<String> names = new HashSet<>();
    Map<String, String> idOwners = new java.util.HashMap<>();
    top.entries("models").forEach((name, s) -> {
      if (!names.add(name)) {
        problems.error(s.path(), "model name '" + name + "' is used twice");
      }
      List<String> aliases = s.strings("aliases");
      for (String a : aliases) {
        if (!names.add(a)) {
          problems.error(s.child("aliases"), "alias '" + a + "' is already the name of another model or alias");
        }
      }
      List<DeploymentConfig> deployments = new java.util.ArrayList<>();
      Set<String> ids = new HashSet<>();
      List<Section> list = s.list("deployments");
      if (list.isEmpty()) {
        problems.error(s.child("deployments"), "model '" + name + "' has no deployments");
      }
      boolean anyEnabled = false;
      for (Section d : list) {
        String provider = d.string("provider", null);
        ProviderConfig p = provider == null ? null : providers.get(provider);
        if (provider == null) {
          problems.error(d.child("provider"), "a deployment needs a provider");
        } else if (p == null) {
          problems.error(d.child("provider"), "unknown provider '" + provider + "'; configured: " + providers.keySet());
        }
        String upstream = d.string("model", name);
        String id = d.string("id", provider + "/" + upstream);
        if (!ids.add(id)) {
          problems.error(d.child("id"), "deployment id '" + id + "' is used twice in model '" + name
              + "'; give each an id");
        } else if (idOwners.containsKey(id)) {
          problems.warning(d.child("id"), "deployment id '" + id + "' is also a deployment of model '"
              + idOwners.get(id) + "'; each keeps its own limits and breaker, but metrics and /admin/status"
              + " cannot tell them apart — give one an id");
        } else {
          idOwners.put(id, name);
        }
        int weight = d.integer("weight", 1, 0, 1_000_000);
        int maxConcurrency = d.integer("max_concurrency", -1, -1, 1_000_000);
        Timeouts base = p == null ? Timeouts.DEFAULTS : p.timeouts();
        boolean own = d.has("timeouts");
        Section timeouts = d.section("timeouts"); // read once: its problems are reported once
        Timeouts t = timeouts(timeouts, base);
        d.rejectUnknown();
        if (own) {
          // inherited guards were already checked where the provider declares them
          checkTimeouts(d.child("timeouts"), t, deadline, explicitKeys(timeouts), quiet, problems);
        }
        if (p != null && p.enabled()) {
          anyEnabled = true;
        }
        if (provider != null) {
          deployments.add(new DeploymentConfig(id, provider, upstream, weight, t, maxConcurrency));
        }
      }
      if (!list.isEmpty() && !anyEnabled && !quiet && !problems.hasErrors()) {
        problems.warning(s.path(), "model '" + name + "' has no deployment on an enabled provider; it will not be served");
      }
      List<String> fallbacks = new java.util.ArrayList<>(s.strings("fallbacks"));
      // top-level `fallbacks:` may name the model by any of its names (checkFallbacks accepts aliases)
      List<String> allNames = new java.util.ArrayList<>(List.of(name));
      allNames.addAll(aliases);
      for (String n : allNames) {
        topFallbacks.getOrDefault(n, List.of()).stream().filter(f -> !fallbacks.contains(f)).forEach(fallbacks::add);
      }
      ResilienceConfig own = ResilienceParser.parse(s.section("resilience"), resilience);
      int maxTokens = s.integer("max_tokens", -1, -1, Integer.MAX_VALUE);
      s.rejectUnknown();
      out.put(name, new ModelConfig(name, aliases, deployments, fallbacks, own, maxTokens));
    });
    return out;
  }
}
