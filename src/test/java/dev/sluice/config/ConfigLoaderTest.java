package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.ConfigProblem.Severity;
import dev.sluice.routing.ModelGroup;
import dev.sluice.routing.ModelRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {

  private static final String SIM_MODEL = """
      models:
        demo:
          deployments:
            - provider: sim
      """;

  private static ConfigLoader.Result check(String yaml) {
    return check(yaml, Map.of());
  }

  private static ConfigLoader.Result check(String yaml, Map<String, String> env) {
    return new ConfigLoader(env).check(yaml, "test.yaml", Path.of("."), false);
  }

  private static SluiceConfig ok(String yaml, Map<String, String> env) {
    ConfigLoader.Result r = check(yaml, env);
    assertThat(errors(r)).as("errors").isEmpty();
    assertThat(r.ok()).isTrue();
    return r.config();
  }

  private static SluiceConfig ok(String yaml) {
    return ok(yaml, Map.of());
  }

  private static List<ConfigProblem> errors(ConfigLoader.Result r) {
    return r.problems().stream().filter(p -> p.severity() == Severity.ERROR).toList();
  }

  /** The one error at {@code path}; fails when there is none or the result is usable. */
  private static ConfigProblem errorAt(ConfigLoader.Result r, String path) {
    assertThat(r.ok()).as("a configuration with an error at %s must not be usable", path).isFalse();
    assertThat(r.config()).isNull();
    List<ConfigProblem> at = errors(r).stream().filter(p -> p.path().equals(path)).toList();
    assertThat(at).as("errors at %s among %s", path, r.problems()).hasSize(1);
    return at.get(0);
  }

  private static ConfigProblem warningAt(ConfigLoader.Result r, String path) {
    List<ConfigProblem> at = r.warnings().stream().filter(p -> p.path().equals(path)).toList();
    assertThat(at).as("warnings at %s among %s", path, r.problems()).hasSize(1);
    return at.get(0);
  }

  /** 1-based number of the only line of {@code yaml} that contains {@code text}. */
  private static int lineOf(String yaml, String text) {
    String[] lines = yaml.split("\n", -1);
    int found = 0;
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].contains(text)) {
        assertThat(found).as("'%s' appears on more than one line", text).isZero();
        found = i + 1;
      }
    }
    assertThat(found).as("'%s' not in the YAML", text).isPositive();
    return found;
  }

  // ---- ${VAR} and ${VAR:-default} ------------------------------------------------------------

  private static final String INTERPOLATED = """
      server:
        host: ${HOST}
        port: ${PORT:-9090}
        max_body_size: ${BODY:-1MiB}
      providers:
        sim: { type: sim }
        up:
          base_url: "http://${UP_HOST:-localhost}:${UP_PORT:-8000}/v1"
          api_key: ${UP_KEY}
          headers:
            x-team: "team-${TEAM:-none}"
      """ + SIM_MODEL;

  @Test
  void variablesAreTakenFromTheEnvironmentWithDefaults() {
    Map<String, String> env = new HashMap<>();
    env.put("HOST", "0.0.0.0");
    env.put("UP_KEY", "pa$$w\\rd${NOT_A_VAR}"); // replacement text is taken literally
    env.put("UP_PORT", "");                     // empty counts as unset for :-
    env.put("TEAM", "blue");
    SluiceConfig c = ok(INTERPOLATED, env);
    assertThat(c.server().host()).isEqualTo("0.0.0.0");
    assertThat(c.server().port()).isEqualTo(9090);
    assertThat(c.server().maxBodyBytes()).isEqualTo(1L << 20);
    ProviderConfig up = c.providers().get("up");
    assertThat(up.baseUrl()).isEqualTo(URI.create("http://localhost:8000/v1"));
    assertThat(up.apiKey().reveal()).isEqualTo("pa$$w\\rd${NOT_A_VAR}");
    assertThat(up.headers()).containsEntry("x-team", "team-blue");
  }

  @Test
  void setVariablesOverrideDefaults() {
    SluiceConfig c = ok(INTERPOLATED, Map.of("HOST", "::", "PORT", "7070", "BODY", "2KiB", "UP_HOST", "vllm.internal",
        "UP_PORT", "9000", "UP_KEY", "k"));
    assertThat(c.server().host()).isEqualTo("::");
    assertThat(c.server().port()).isEqualTo(7070);
    assertThat(c.server().maxBodyBytes()).isEqualTo(2048);
    assertThat(c.providers().get("up").baseUrl()).isEqualTo(URI.create("http://vllm.internal:9000/v1"));
    assertThat(c.providers().get("up").headers()).containsEntry("x-team", "team-none");
  }

  @Test
  void anInterpolatedValueIsStillValidated() {
    ConfigLoader.Result r = check(INTERPOLATED, Map.of("HOST", "h", "PORT", "eighty", "BODY", "lots"));
    assertThat(errorAt(r, "server.port").message()).contains("eighty");
    assertThat(errorAt(r, "server.max_body_size").message()).contains("lots");
    assertThat(errorAt(r, "server.port").line()).isEqualTo(3);
  }

  @Test
  void anInterpolatedNumberTooLargeForItsFieldIsAProblemNotACrash() {
    ConfigLoader.Result r = check(INTERPOLATED, Map.of("HOST", "h", "PORT", "99999999999"));
    assertThat(errorAt(r, "server.port").message()).contains("99999999999");
  }

  // ---- presets -------------------------------------------------------------------------------

  static Stream<Arguments> keyPresets() {
    return Stream.of(
        Arguments.of("openai", "OPENAI_API_KEY", "https://api.openai.com/v1", "openai", 30),
        Arguments.of("groq", "GROQ_API_KEY", "https://api.groq.com/openai/v1", "groq", 15),
        Arguments.of("glm", "ZHIPUAI_API_KEY", "https://open.bigmodel.cn/api/paas/v4", "glm", 30),
        Arguments.of("zhipu", "ZHIPUAI_API_KEY", "https://open.bigmodel.cn/api/paas/v4", "glm", 30),
        Arguments.of("kimi", "MOONSHOT_API_KEY", "https://api.moonshot.ai/v1", "kimi", 25),
        Arguments.of("moonshot", "MOONSHOT_API_KEY", "https://api.moonshot.ai/v1", "kimi", 25));
  }

  private static String presetYaml(String provider) {
    return """
        providers:
          %s: {}
        models:
          m:
            deployments:
              - provider: %s
        """.formatted(provider, provider);
  }

  @ParameterizedTest(name = "{0} switches on with {1}")
  @MethodSource("keyPresets")
  void aPresetSwitchesOnWhenItsKeyIsSet(String name, String keyEnv, String url, String preset, int totalSeconds) {
    SluiceConfig c = ok(presetYaml(name), Map.of(keyEnv, "sk-live-123"));
    ProviderConfig p = c.providers().get(name);
    assertThat(p.enabled()).isTrue();
    assertThat(p.preset()).isEqualTo(preset);
    assertThat(p.type()).isEqualTo("openai");
    assertThat(p.baseUrl()).isEqualTo(URI.create(url));
    assertThat(p.apiKey().reveal()).isEqualTo("sk-live-123");
    assertThat(p.apiKey().toString()).doesNotContain("sk-live-123");
    assertThat(p.timeouts().total()).isEqualTo(Duration.ofSeconds(totalSeconds));
    assertThat(new ModelRegistry(c).find("m")).isPresent();
  }

  @ParameterizedTest(name = "{0} stays off without {1}")
  @MethodSource("keyPresets")
  void aPresetStaysOffWithoutItsKey(String name, String keyEnv) {
    Map<String, String> env = new HashMap<>(Map.of("UNRELATED", "x"));
    env.put(keyEnv, ""); // set but empty is not a key
    ConfigLoader.Result r = check(presetYaml(name), env);
    assertThat(r.ok()).isTrue();
    assertThat(r.config().providers().get(name).enabled()).isFalse();
    assertThat(warningAt(r, "providers." + name).message()).contains(keyEnv).contains("off");
    assertThat(warningAt(r, "models.m").message()).contains("no deployment on an enabled provider");
    assertThat(new ModelRegistry(r.config()).find("m")).isEmpty();
  }

  @Test
  void anExplicitKeyOrSwitchWinsOverTheEnvironment() {
    SluiceConfig withKey = ok("""
        providers:
          groq: { api_key: "gsk-from-file" }
        """ + SIM_MODEL.replace("sim", "groq"), Map.of());
    assertThat(withKey.providers().get("groq").enabled()).isTrue();
    assertThat(withKey.providers().get("groq").apiKey().reveal()).isEqualTo("gsk-from-file");

    ConfigLoader.Result off = check("""
        providers:
          groq: { enabled: false }
        """ + SIM_MODEL.replace("sim", "groq"), Map.of("GROQ_API_KEY", "gsk"));
    assertThat(off.config().providers().get("groq").enabled()).isFalse();
    assertThat(warningAt(off, "providers.groq").message()).contains("enabled: false");
  }

  @Test
  void theBuiltInConfigurationSwitchesPresetsOnFromTheEnvironmentOnly() {
    SluiceConfig none = new ConfigLoader(Map.of()).loadDefault();
    assertThat(none.providers().values().stream().filter(ProviderConfig::enabled).map(ProviderConfig::name))
        .containsExactly("sim");
    SluiceConfig groq = new ConfigLoader(Map.of("GROQ_API_KEY", "gsk-1")).loadDefault();
    assertThat(groq.providers().get("groq").enabled()).isTrue();
    assertThat(groq.providers().get("openai").enabled()).isFalse();
    ModelRegistry registry = new ModelRegistry(groq);
    assertThat(registry.groups()).extracting(ModelGroup::name).containsExactly("demo", "llama-3.3-70b-versatile");
    assertThat(registry.find("gpt-4o-mini")).isEmpty();
    assertThat(registry.find("groq/any-model")).isPresent(); // presets allow pass-through
  }

  // ---- ollama --------------------------------------------------------------------------------

  @Test
  void ollamaWithAnAllInterfacesHostIsReachedOnLoopback() {
    SluiceConfig c = ok(presetYaml("ollama"), Map.of("OLLAMA_HOST", "0.0.0.0:11434"));
    ProviderConfig p = c.providers().get("ollama");
    assertThat(p.enabled()).isTrue();
    assertThat(p.baseUrl()).isEqualTo(URI.create("http://127.0.0.1:11434/v1"));
    assertThat(p.apiKey().isEmpty()).isTrue();
  }

  @Test
  void ollamaInTheBuiltInConfigurationFollowsOllamaHost() {
    SluiceConfig on = new ConfigLoader(Map.of("OLLAMA_HOST", "0.0.0.0:11434")).loadDefault();
    assertThat(on.providers().get("ollama").enabled()).isTrue();
    assertThat(on.providers().get("ollama").baseUrl()).isEqualTo(URI.create("http://127.0.0.1:11434/v1"));
    SluiceConfig off = new ConfigLoader(Map.of()).loadDefault();
    assertThat(off.providers().get("ollama").enabled()).isFalse();
  }

  @Test
  void ollamaConfiguredExplicitlyDefaultsToLocalhost() {
    SluiceConfig c = ok(presetYaml("ollama"), Map.of());
    assertThat(c.providers().get("ollama").enabled()).isTrue();
    assertThat(c.providers().get("ollama").baseUrl()).isEqualTo(URI.create("http://localhost:11434/v1"));
  }

  /** {@code OLLAMA_HOST} as Ollama itself reads it: no scheme means http, no port means 11434. */
  @ParameterizedTest(name = "OLLAMA_HOST={0}")
  @CsvSource(delimiter = '|', value = {
      "0.0.0.0:11434            | http://127.0.0.1:11434/v1",
      "0.0.0.0                  | http://127.0.0.1:11434/v1",
      "'  0.0.0.0:11434 '       | http://127.0.0.1:11434/v1",
      "127.0.0.1:8080           | http://127.0.0.1:8080/v1",
      "gpu-box:11434            | http://gpu-box:11434/v1",
      "gpu-box                  | http://gpu-box:11434/v1",
      "http://gpu-box:11434     | http://gpu-box:11434/v1",
      "http://gpu-box:11434/    | http://gpu-box:11434/v1",
      "http://0.0.0.0:11434     | http://127.0.0.1:11434/v1",
      "https://ollama.example   | https://ollama.example/v1",
      "http://h:1/v1            | http://h:1/v1",
      "[::1]                    | http://[::1]:11434/v1",
      "::1                      | http://[::1]:11434/v1",
      "[::1]:9000               | http://[::1]:9000/v1",
  })
  void ollamaHostBecomesABaseUrl(String host, String url) {
    assertThat(Preset.baseUrlFromHost(host)).isEqualTo(url);
  }

  // ---- unknown keys, lines, many problems at once -------------------------------------------

  @Test
  void unknownKeysAreReportedWithPathAndLine() {
    String yaml = """
        server:
          port: 0
          prot: 8080
        providers:
          sim:
            type: sim
            api_kee: x
        models:
          demo:
            deployments:
              - provider: sim
                wieght: 2
        modles: {}
        deadline:
          tiers:
            inferance: 10s
        """;
    ConfigLoader.Result r = check(yaml);
    ConfigProblem prot = errorAt(r, "server.prot");
    assertThat(prot.line()).isEqualTo(3);
    assertThat(prot.message()).contains("'prot'").contains("port");
    assertThat(errorAt(r, "providers.sim.api_kee").line()).isEqualTo(7);
    assertThat(errorAt(r, "models.demo.deployments[0].wieght").line()).isEqualTo(12);
    assertThat(errorAt(r, "modles").line()).isEqualTo(13);
    assertThat(errorAt(r, "deadline.tiers.inferance").line()).isEqualTo(16);
    assertThat(errors(r)).hasSize(5);
    assertThat(prot.toString()).isEqualTo("error: line 3, server.prot: " + prot.message());
  }

  @Test
  void everyKindOfProblemIsReportedInOnePass() {
    String yaml = """
        server: { port: 0, max_body_size: huge }
        deadline: { cap: forever }
        providers:
          sim: { type: sim, colour: red }
          up: { type: grpc, base_url: "ftp://x" }
        models:
          demo:
            deployments:
              - { provider: nowhere }
              - { provider: sim, weight: -1 }
        """;
    ConfigLoader.Result r = check(yaml);
    assertThat(errorAt(r, "server.max_body_size").line()).isEqualTo(1);
    assertThat(errorAt(r, "deadline.cap").line()).isEqualTo(2);
    assertThat(errorAt(r, "providers.sim.colour").line()).isEqualTo(4);
    assertThat(errorAt(r, "providers.up.type").line()).isEqualTo(5);
    assertThat(errorAt(r, "models.demo.deployments[0].provider").line()).isEqualTo(9);
    assertThat(errorAt(r, "models.demo.deployments[1].weight").line()).isEqualTo(10);
    assertThat(errors(r)).hasSizeGreaterThanOrEqualTo(6);
    assertThatThrownBy(() -> new ConfigLoader(Map.of()).loadText(yaml, "mine.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mine.yaml")
        .hasMessageContaining("line 1, server.max_body_size")
        .hasMessageContaining("line 9, models.demo.deployments[0].provider")
        .satisfies(e -> assertThat(((ConfigException) e).problems()).hasSize(errors(r).size()));
  }

  @Test
  void invalidYamlIsReportedWithItsLine() {
    ConfigLoader.Result r = check("server:\n  port: 0\nmodels: [\n  {a: 1\n");
    assertThat(r.ok()).isFalse();
    assertThat(r.problems()).hasSize(1);
    assertThat(r.problems().get(0).message()).startsWith("not valid YAML");
    assertThat(r.problems().get(0).line()).isPositive();
  }

  @Test
  void aKeyWrittenTwiceIsReportedNotSilentlyReplaced() {
    String yaml = """
        providers:
          sim: { type: sim }
        models:
          demo:
            deployments: [{ provider: sim }]
        providers:
          other: { type: sim }
        """;
    ConfigLoader.Result r = check(yaml);
    assertThat(r.ok()).isFalse();
    assertThat(r.problems()).hasSize(1);
    assertThat(r.problems().get(0).message()).containsIgnoringCase("duplicate").contains("providers");
    assertThat(r.problems().get(0).line()).isEqualTo(6);

    ConfigLoader.Result nested = check("server:\n  port: 0\n  port: 8080\n");
    assertThat(nested.ok()).isFalse();
    assertThat(nested.problems().get(0).message()).containsIgnoringCase("duplicate").contains("port");
    assertThat(nested.problems().get(0).line()).isEqualTo(3);
  }

  @Test
  void aSectionOfTheWrongShapeIsReported() {
    ConfigLoader.Result r = check("server: 8080\nproviders: [sim]\n" + SIM_MODEL);
    assertThat(errorAt(r, "server").message()).contains("expected a mapping");
    assertThat(errorAt(r, "providers").message()).contains("expected a mapping");
  }

  @Test
  void anEmptyDocumentIsAValidConfigurationWithDefaults() {
    SluiceConfig c = ok("");
    assertThat(c.server()).isEqualTo(ServerConfig.DEFAULTS);
    assertThat(c.deadline()).isEqualTo(DeadlineConfig.DEFAULTS);
    assertThat(c.models()).isEmpty();
  }

  // ---- timeout hierarchy ---------------------------------------------------------------------

  private static String deploymentTimeouts(String timeouts) {
    return """
        providers:
          sim: { type: sim }
        models:
          demo:
            deployments:
              - provider: sim
                timeouts: %s
        """.formatted(timeouts);
  }

  @Test
  void anAttemptTotalLongerThanTheInferenceTierIsAnError() {
    String yaml = deploymentTimeouts("{ total: 45s }");
    ConfigProblem p = errorAt(check(yaml), "models.demo.deployments[0].timeouts.total");
    assertThat(p.line()).isEqualTo(lineOf(yaml, "total: 45s"));
    assertThat(p.message()).contains("45s").contains("30s").contains("deadline.tiers.inference");
  }

  @Test
  void anAttemptTotalWithinARaisedTierIsFine() {
    ok("deadline: { tiers: { inference: 60s } }\n" + deploymentTimeouts("{ total: 45s }"));
  }

  @Test
  void aStreamTotalLongerThanTheStreamTierIsAnError() {
    String yaml = deploymentTimeouts("{ stream_total: 200s }");
    ConfigProblem p = errorAt(check(yaml), "models.demo.deployments[0].timeouts.stream_total");
    assertThat(p.message()).contains("200s").contains("deadline.tiers.inference_stream");
    String lowered = "deadline: { tiers: { inference_stream: 60s } }\n" + deploymentTimeouts("{ stream_total: 90s }");
    assertThat(errorAt(check(lowered), "models.demo.deployments[0].timeouts.stream_total").line())
        .isEqualTo(lineOf(lowered, "stream_total: 90s"));
  }

  @Test
  void aProviderTimeoutBeyondItsTierIsAnErrorToo() {
    String yaml = """
        providers:
          sim:
            type: sim
            timeouts:
              total: 31s
        """ + SIM_MODEL;
    assertThat(errorAt(check(yaml), "providers.sim.timeouts.total").line()).isEqualTo(5);
  }

  @Test
  void aTierDeadlineBeyondTheCapIsAnError() {
    String yaml = """
        deadline:
          cap: 50s
          tiers:
            inference: 90s
            inference_stream: 50s
        """;
    ConfigProblem p = errorAt(check(yaml), "deadline.tiers.inference");
    assertThat(p.line()).isEqualTo(4);
    assertThat(p.message()).contains("90s").contains("50s").contains("deadline.cap");
  }

  @Test
  void everyTierIsCheckedAgainstTheCap() {
    String yaml = """
        deadline:
          cap: 10s
          tiers: { info: 11s, inference: 12s, inference_stream: 13s, files: 14s, workflows: 15s }
        """;
    ConfigLoader.Result r = check(yaml);
    for (String tier : List.of("info", "inference", "inference_stream", "files", "workflows")) {
      assertThat(errorAt(r, "deadline.tiers." + tier).line()).isEqualTo(3);
    }
  }

  /**
   * Lowering only the cap must not fail on tiers the user never wrote: the default tiers are
   * simply cut to the cap (that is what the deadline does at run time anyway).
   */
  @Test
  void loweringTheCapAloneCutsDefaultTiersInsteadOfFailing() {
    SluiceConfig c = ok("deadline: { cap: 120s }\n");
    assertThat(c.deadline().cap()).isEqualTo(Duration.ofSeconds(120));
    assertThat(check("deadline: { cap: 120s }\n").problems()).isEmpty();
    assertThat(c.deadline().inferenceStream()).isEqualTo(Duration.ofSeconds(120));
    assertThat(c.deadline().inference()).isEqualTo(Duration.ofSeconds(30));
    SluiceConfig low = ok("deadline: { cap: 20s }\n");
    assertThat(low.deadline().inference()).isEqualTo(Duration.ofSeconds(20));
    assertThat(low.deadline().info()).isEqualTo(Duration.ofSeconds(5));
    assertThat(low.deadline().files()).isEqualTo(Duration.ofSeconds(20));
  }

  @Test
  void anExplicitStreamTotalBeyondACutDefaultTierIsStillAnError() {
    String yaml = "deadline: { cap: 120s }\n" + deploymentTimeouts("{ stream_total: 150s }");
    assertThat(errorAt(check(yaml), "models.demo.deployments[0].timeouts.stream_total").message())
        .contains("150s").contains("2m");
  }

  @Test
  void firstByteLongerThanTotalIsAnError() {
    String yaml = deploymentTimeouts("{ first_byte: 25s, total: 20s }");
    ConfigProblem p = errorAt(check(yaml), "models.demo.deployments[0].timeouts.first_byte");
    assertThat(p.message()).contains("25s").contains("20s");
    assertThat(p.line()).isEqualTo(lineOf(yaml, "first_byte: 25s"));
  }

  @Test
  void connectLongerThanFirstByteIsAnError() {
    String yaml = deploymentTimeouts("{ connect: 10s, first_byte: 5s }");
    ConfigProblem p = errorAt(check(yaml), "models.demo.deployments[0].timeouts.connect");
    assertThat(p.message()).contains("10s").contains("5s").contains("first_byte");
  }

  @Test
  void firstTokenLongerThanStreamTotalIsAnError() {
    assertThat(errorAt(check(deploymentTimeouts("{ first_token: 70s, stream_total: 50s }")),
        "models.demo.deployments[0].timeouts.first_token").message()).contains("70s").contains("50s");
  }

  @Test
  void idleLongerThanStreamTotalIsOnlyAWarning() {
    ConfigLoader.Result r = check(deploymentTimeouts("{ idle: 60s, stream_total: 50s, first_token: 10s }"));
    assertThat(r.ok()).isTrue();
    assertThat(warningAt(r, "models.demo.deployments[0].timeouts.idle").message()).contains("never fire");
  }

  @Test
  void aPresetsOwnDefaultBeyondATierIsOnlyAWarning() {
    // Ollama's preset allows 150 s per attempt; the default inference tier is 30 s
    String yaml = presetYaml("ollama");
    ConfigLoader.Result r = check(yaml);
    assertThat(r.ok()).isTrue();
    assertThat(errors(r)).isEmpty();
    ConfigProblem w = warningAt(r, "providers.ollama.timeouts.total");
    assertThat(w.message()).contains("150s").contains("30s").contains("clips");
    assertThat(w.line()).isEqualTo(lineOf(yaml, "ollama: {}")); // nearest line that exists
    assertThat(r.config().providers().get("ollama").timeouts().total()).isEqualTo(Duration.ofSeconds(150));
  }

  @Test
  void aPresetDefaultInheritedByADeploymentWithItsOwnGuardsIsStillOnlyAWarning() {
    String yaml = """
        providers:
          ollama: {}
        models:
          m:
            deployments:
              - provider: ollama
                timeouts: { connect: 2s }
        """;
    ConfigLoader.Result r = check(yaml);
    assertThat(r.ok()).isTrue();
    assertThat(r.config().models().get("m").deployments().get(0).timeouts().connect()).isEqualTo(Duration.ofSeconds(2));
    assertThat(r.config().models().get("m").deployments().get(0).timeouts().total())
        .isEqualTo(Duration.ofSeconds(150));
  }

  @Test
  void theSameValueWrittenByTheUserIsAnError() {
    String yaml = """
        providers:
          ollama:
            timeouts: { total: 150s }
        models:
          m:
            deployments: [{ provider: ollama }]
        """;
    assertThat(errorAt(check(yaml), "providers.ollama.timeouts.total").line()).isEqualTo(3);
  }

  @Test
  void deploymentsInheritProviderGuardsAndOverrideSome() {
    SluiceConfig c = ok("""
        providers:
          sim:
            type: sim
            timeouts: { connect: 1s, first_byte: 8s, total: 20s }
        models:
          demo:
            deployments:
              - { id: a, provider: sim }
              - { id: b, provider: sim, timeouts: { first_byte: 4s } }
        """);
    Timeouts a = c.models().get("demo").deployments().get(0).timeouts();
    Timeouts b = c.models().get("demo").deployments().get(1).timeouts();
    assertThat(a.connect()).isEqualTo(Duration.ofSeconds(1));
    assertThat(a.firstByte()).isEqualTo(Duration.ofSeconds(8));
    assertThat(b.firstByte()).isEqualTo(Duration.ofSeconds(4));
    assertThat(b.total()).isEqualTo(Duration.ofSeconds(20));
    assertThat(b.connect()).isEqualTo(Duration.ofSeconds(1));
  }

  // ---- deadline.skip -------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"true", "TRUE", "True"})
  void theSkipSwitchComesFromTheEnvironment(String value) {
    assertThat(ok("", Map.of("SLUICE_DEADLINE_SKIP", value)).deadline().skip()).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"false", "", "no"})
  void theSkipSwitchIsOffOtherwise(String value) {
    assertThat(ok("", Map.of("SLUICE_DEADLINE_SKIP", value)).deadline().skip()).isFalse();
    assertThat(ok("").deadline().skip()).isFalse();
  }

  @Test
  void theSkipSwitchComesFromTheFile() {
    assertThat(ok("deadline: { skip: true }").deadline().skip()).isTrue();
    assertThat(ok("deadline: { skip: false }").deadline().skip()).isFalse();
    assertThat(errorAt(check("deadline: { skip: sometimes }"), "deadline.skip").message()).contains("sometimes");
  }

  @Test
  void underSkipAnAttemptBeyondItsTierIsOnlyAWarning() {
    ConfigLoader.Result r = check(deploymentTimeouts("{ total: 45s }"), Map.of("SLUICE_DEADLINE_SKIP", "true"));
    assertThat(r.ok()).isTrue();
    assertThat(warningAt(r, "models.demo.deployments[0].timeouts.total").message()).contains("45s");
  }

  // ---- durations, sizes, numbers -------------------------------------------------------------

  @ParameterizedTest(name = "cap: {0}")
  @ValueSource(strings = {"5 seconds", "-1s", "0", "0s", "abc", "1d", "10 m s", "'1e3'", "[1]", "{a: 1}", "true"})
  void badDurationsAreReported(String value) {
    ConfigProblem p = errorAt(check("deadline:\n  cap: " + value + "\n"), "deadline.cap");
    assertThat(p.line()).isEqualTo(2);
    assertThat(p.message()).contains("duration");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "250ms | 250", "2.5s | 2500", "30s | 30000", "1m | 60000", "1h | 3600000", "45 | 45000", "0.5 | 500"})
  void goodDurations(String value, long millis) {
    assertThat(ok("deadline:\n  cap: " + value + "\n  tiers: { info: 100ms, inference: 100ms,"
        + " inference_stream: 100ms, files: 100ms, workflows: 100ms }\n").deadline().cap())
        .isEqualTo(Duration.ofMillis(millis));
  }

  @Test
  void badTimeoutDurationsAreReportedAtTheirKey() {
    String yaml = deploymentTimeouts("{ connect: soon, idle: -3s, first_token: [2s] }");
    ConfigLoader.Result r = check(yaml);
    assertThat(errorAt(r, "models.demo.deployments[0].timeouts.connect").message()).contains("'soon'");
    assertThat(errorAt(r, "models.demo.deployments[0].timeouts.idle").message()).contains("'-3s'");
    assertThat(errorAt(r, "models.demo.deployments[0].timeouts.first_token").message()).contains("a list");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "8MiB | 8388608", "512KiB | 524288", "'2 MB' | 2000000", "1kb | 1000", "1GiB | 1073741824", "1000 | 1000",
      "'1000' | 1000", "64b | 64", "1mib | 1048576"})
  void goodSizes(String value, long bytes) {
    assertThat(ok("server:\n  max_body_size: " + value + "\n").server().maxBodyBytes()).isEqualTo(bytes);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"1.5MiB", "0", "-1", "'-1'", "lots", "8 MiBs", "1TB", "0KiB", "[1]",
      "99999999999999999999", "'99999999999999999999'", "99999999999GiB", "9999999999999999999kb"})
  void badSizesAreReported(String value) {
    ConfigProblem p = errorAt(check("server:\n  max_body_size: " + value + "\n"), "server.max_body_size");
    assertThat(p.line()).isEqualTo(2);
    assertThat(p.message()).contains("size");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"70000", "-1", "abc", "1.5", "'99999999999'", "99999999999", "[80]"})
  void badPortsAreReported(String value) {
    assertThat(errorAt(check("server:\n  port: " + value + "\n"), "server.port").line()).isEqualTo(2);
  }

  @Test
  void badCountsAreReported() {
    assertThat(errorAt(check("server: { max_messages: 0 }"), "server.max_messages").message()).contains("between");
    ConfigLoader.Result seed = check("providers:\n  sim: { type: sim, seed: '99999999999999999999' }\n" + SIM_MODEL);
    assertThat(errorAt(seed, "providers.sim.seed").line()).isEqualTo(2);
  }

  // ---- providers and deployments -------------------------------------------------------------

  @Test
  void aDeploymentOnAnUnknownProviderIsAnError() {
    String yaml = """
        providers:
          sim: { type: sim }
        models:
          demo:
            deployments:
              - provider: sim
              - provider: simm
        """;
    ConfigProblem p = errorAt(check(yaml), "models.demo.deployments[1].provider");
    assertThat(p.line()).isEqualTo(7);
    assertThat(p.message()).contains("'simm'").contains("sim");
  }

  @Test
  void aDeploymentWithoutProviderAndAModelWithoutDeploymentsAreErrors() {
    ConfigLoader.Result r = check("""
        providers:
          sim: { type: sim }
        models:
          a:
            deployments:
              - model: x
          b: {}
        """);
    assertThat(errorAt(r, "models.a.deployments[0].provider").line()).isEqualTo(6);
    assertThat(errorAt(r, "models.b.deployments").line()).isEqualTo(7);
  }

  @Test
  void duplicateDeploymentIdsAreAnError() {
    String yaml = """
        providers:
          sim: { type: sim }
        models:
          demo:
            deployments:
              - { id: one, provider: sim, model: sim-fast }
              - { id: one, provider: sim, model: sim-slow }
        """;
    ConfigProblem p = errorAt(check(yaml), "models.demo.deployments[1].id");
    assertThat(p.line()).isEqualTo(7);
    assertThat(p.message()).contains("'one'");
  }

  @Test
  void twoDeploymentsThatDefaultToTheSameIdAreAnError() {
    String yaml = """
        providers:
          sim: { type: sim }
        models:
          demo:
            deployments:
              - provider: sim
              - provider: sim
        """;
    ConfigProblem p = errorAt(check(yaml), "models.demo.deployments[1].id");
    assertThat(p.message()).contains("'sim/demo'");
    assertThat(p.line()).isEqualTo(7);
  }

  @Test
  void theSameIdInTwoModelsIsFine() {
    ok("""
        providers:
          sim: { type: sim }
        models:
          a: { deployments: [{ id: x, provider: sim }] }
          b: { deployments: [{ id: x, provider: sim }] }
        """);
  }

  @Test
  void aliasesMustBeUnique() {
    ConfigLoader.Result r = check("""
        providers:
          sim: { type: sim }
        models:
          a: { aliases: [b], deployments: [{ provider: sim }] }
          b: { deployments: [{ provider: sim }] }
        """);
    assertThat(errors(r)).isNotEmpty();
    assertThat(errors(r).get(0).message()).contains("'b'");
  }

  @Test
  void providerMistakesAreReported() {
    ConfigLoader.Result r = check("""
        providers:
          sim: { type: sim }
          a: { preset: nope }
          b: { base_url: "ftp://files" }
          c: {}
          d: { base_url: "http://x:1/v1", enabled: maybe }
        """ + SIM_MODEL);
    assertThat(errorAt(r, "providers.a.preset").message()).contains("nope");
    assertThat(errorAt(r, "providers.b.base_url").message()).contains("ftp://files");
    assertThat(errorAt(r, "providers.c.base_url").message()).contains("base_url");
    assertThat(errorAt(r, "providers.d.enabled").message()).contains("maybe");
  }

  @Test
  void credentialsInABaseUrlAreAnErrorThatDoesNotRepeatThem() {
    // they would not be sent: the provider would refuse every request as the gateway's own fault
    ConfigLoader.Result r = check("""
        providers:
          sim: { type: sim }
          o: { type: openai, base_url: "https://ops:s3cret@ollama.example.com/v1" }
        """ + SIM_MODEL);
    assertThat(errorAt(r, "providers.o.base_url").message()).contains("headers").doesNotContain("s3cret");
  }

  @Test
  void aMissingSimulatorProfileIsAnError(@TempDir Path dir) throws Exception {
    String yaml = "providers:\n  sim: { type: sim, profile: missing.yaml }\n" + SIM_MODEL;
    ConfigLoader.Result r = new ConfigLoader(Map.of()).check(yaml, "t", dir, false);
    assertThat(errorAt(r, "providers.sim.profile").message()).contains("missing.yaml");
  }

  @Test
  void aCaFileIsResolvedAgainstTheConfigurationsDirectoryAndMustHoldACertificate(@TempDir Path dir)
      throws Exception {
    Files.writeString(dir.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    Files.writeString(dir.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n");
    String yaml = """
        providers:
          good: { type: openai, base_url: "https://vllm:8443/v1", ca_file: ca.pem }
          missing: { type: openai, base_url: "https://vllm:8443/v1", ca_file: nowhere.pem }
          notcert: { type: openai, base_url: "https://vllm:8443/v1", ca_file: key.pem }
          plain: { type: openai, base_url: "http://vllm:8000/v1", ca_file: ca.pem }
        models:
          m: { deployments: [{ provider: good, model: x }] }
        """;
    ConfigLoader.Result r = new ConfigLoader(Map.of()).check(yaml, "t", dir, false);
    assertThat(errorAt(r, "providers.missing.ca_file").message()).contains("nowhere.pem").contains("does not exist");
    assertThat(errorAt(r, "providers.notcert.ca_file").message()).contains("no PEM certificate");
    assertThat(warningAt(r, "providers.plain.ca_file").message()).contains("only used for https://");
    assertThat(r.problems()).noneMatch(p -> p.path().startsWith("providers.good"));
  }

  @Test
  void aProviderWithoutCaFileTrustsTheJvmsAuthorities() {
    SluiceConfig c = ok("""
        providers:
          up: { type: openai, base_url: "https://api.example.com/v1" }
        models:
          m: { deployments: [{ provider: up, model: x }] }
        """);
    assertThat(c.providers().get("up").caFile()).isNull();
  }

  // ---- the built-in configuration ------------------------------------------------------------

  @Test
  void theBuiltInConfigurationLoadsCleanlyAndOffersDemo() {
    ConfigLoader.Result r = new ConfigLoader(Map.of()).checkDefault();
    assertThat(r.ok()).isTrue();
    assertThat(r.problems()).isEmpty();
    SluiceConfig c = r.config();
    assertThat(c.models()).containsKey("demo");
    assertThat(c.providers().get("sim").enabled()).isTrue();
    assertThat(c.providers().get("sim").isSim()).isTrue();
    ModelRegistry registry = new ModelRegistry(c);
    assertThat(registry.groups()).extracting(ModelGroup::name).containsExactly("demo");
    assertThat(registry.find("demo")).isPresent();
    assertThat(registry.find("demo").get().deployments()).hasSize(2);
  }

  @Test
  void theBuiltInConfigurationLoadsWithEveryPresetSwitchedOn() {
    ConfigLoader.Result r = new ConfigLoader(Map.of("OPENAI_API_KEY", "a", "GROQ_API_KEY", "b", "ZHIPUAI_API_KEY", "c",
        "MOONSHOT_API_KEY", "d", "OLLAMA_HOST", "0.0.0.0:11434")).checkDefault();
    assertThat(errors(r)).isEmpty();
    assertThat(r.config().providers().values()).allMatch(ProviderConfig::enabled);
    assertThat(new ModelRegistry(r.config()).groups()).hasSize(r.config().models().size());
  }

  // ---- sluice config check -------------------------------------------------------------------

  private record Run(int code, String out) {}

  private static Run configCheck(String... args) {
    PrintStream original = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    try (PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
      System.setOut(capture);
      String[] all = new String[args.length + 2];
      all[0] = "config";
      all[1] = "check";
      System.arraycopy(args, 0, all, 2, args.length);
      int code = new picocli.CommandLine(new dev.sluice.cli.Main()).execute(all);
      capture.flush();
      return new Run(code, buf.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(original);
    }
  }

  @Test
  void configCheckAcceptsAGoodFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("good.yaml");
    Files.writeString(file, "server: { port: 0 }\nproviders:\n  sim: { type: sim }\n" + SIM_MODEL);
    Run run = configCheck(file.toString());
    assertThat(run.code()).isZero();
    assertThat(run.out()).contains("OK").contains("1 models").doesNotContain("error");
  }

  @Test
  void configCheckRejectsABadFileWithLines(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(file, """
        server:
          port: 0
          prot: 1
        providers:
          sim: { type: sim }
        models:
          demo:
            deployments:
              - provider: nowhere
        """);
    Run run = configCheck(file.toString());
    assertThat(run.code()).isEqualTo(1);
    assertThat(run.out())
        .contains("line 3, server.prot")
        .contains("line 9, models.demo.deployments[0].provider")
        .contains("2 error(s)")
        .doesNotContain("OK (");
  }

  @Test
  void configCheckReportsAFileThatCannotBeRead(@TempDir Path dir) {
    Run run = configCheck(dir.resolve("absent.yaml").toString());
    assertThat(run.code()).isEqualTo(1);
    assertThat(run.out()).contains("cannot read").contains("absent.yaml: no such file");
  }

  @Test
  void configCheckWithoutAFileChecksTheBuiltInConfiguration() {
    Run run = configCheck();
    assertThat(run.code()).isZero();
    assertThat(run.out()).contains("built-in config").contains("OK");
  }

  @org.junit.jupiter.api.Test
  void anUnsetVariableWithoutDefaultIsWorthAWarning() {
    var r = new ConfigLoader(java.util.Map.of()).check("""
        providers:
          up: { type: openai, base_url: "http://127.0.0.1:1/v1", api_key: "${MISSPELT_KEY}" }
          other: { type: openai, base_url: "http://127.0.0.1:1/v1", api_key: "${EMPTY_OK:-}" }
        models:
          m: { deployments: [{ provider: up }] }
        """, "t", java.nio.file.Path.of("."), false);
    org.assertj.core.api.Assertions.assertThat(r.ok()).isTrue();
    org.assertj.core.api.Assertions.assertThat(r.warnings()).extracting(ConfigProblem::message)
        .anySatisfy(m -> org.assertj.core.api.Assertions.assertThat(m).contains("MISSPELT_KEY"))
        .noneSatisfy(m -> org.assertj.core.api.Assertions.assertThat(m).contains("EMPTY_OK"));
  }

  @org.junit.jupiter.api.Test
  void storeAdmissionAndAdminSectionsAreKnownTopLevelKeys() {
    var r = new ConfigLoader(java.util.Map.of()).check("""
        store: { url: none }
        admission: { max_in_flight: 10, queue: { size: 5 } }
        admin: { key: secret }
        providers:
          sim: { type: sim }
        models:
          m: { deployments: [{ provider: sim }] }
        """, "t", java.nio.file.Path.of("."), false);
    org.assertj.core.api.Assertions.assertThat(r.problems()).isEmpty();
    org.assertj.core.api.Assertions.assertThat(r.config().store().enabled()).isFalse();
    org.assertj.core.api.Assertions.assertThat(r.config().admission().queueSize()).isEqualTo(5);
    org.assertj.core.api.Assertions.assertThat(r.config().adminKey().reveal()).isEqualTo("secret");
  }

  @org.junit.jupiter.api.Test
  void queueMaxWaitIsNoneAutoOrADuration() {
    java.util.function.Function<String, java.time.Duration> read = v -> new ConfigLoader(java.util.Map.of()).loadText(
        "admission: { queue: { max_wait: " + v + " } }\nproviders: { sim: { type: sim } }\n"
            + "models: { m: { deployments: [{ provider: sim }] } }\n", "t").admission().queueMaxWait();
    org.assertj.core.api.Assertions.assertThat(read.apply("none")).isNull();
    org.assertj.core.api.Assertions.assertThat(read.apply("auto")).isEqualTo(AdmissionConfig.AUTO_WAIT);
    org.assertj.core.api.Assertions.assertThat(read.apply("250ms")).isEqualTo(java.time.Duration.ofMillis(250));
  }

  private static String concurrency(String limit) {
    return "admission:\n  concurrency: " + limit + "\nproviders: { sim: { type: sim } }\n"
        + "models: { m: { deployments: [{ provider: sim }] } }\n";
  }

  @Test
  void theTailAlgorithmTakesAToleranceAboveOne() {
    SluiceConfig c = ok(concurrency("{ algorithm: tail, tolerance: 1.3, initial: 20, min: 4, max: 200 }"));
    assertThat(c.admission().limit().algorithm()).isEqualTo("tail");
    assertThat(c.admission().limit().tolerance()).isEqualTo(1.3);
    String yaml = concurrency("{ algorithm: tail, tolerance: 1 }");
    ConfigProblem p = errorAt(check(yaml), "admission.concurrency.tolerance");
    assertThat(p.message()).contains("above 1");
    assertThat(errorAt(check(concurrency("{ algorithm: tial }")), "admission.concurrency.algorithm").message())
        .contains("gradient, vegas, tail, aimd or fixed");
  }
}
