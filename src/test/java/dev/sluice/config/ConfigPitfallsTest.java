package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigProblem.Severity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigPitfallsTest {
  private static ConfigLoader.Result check(String yaml) {
    return new ConfigLoader(Map.of()).check(yaml, "test.yaml", Path.of("."), false);
  }

  private static List<ConfigProblem> errors(ConfigLoader.Result r) {
    return r.problems().stream().filter(p -> p.severity() == Severity.ERROR).toList();
  }

  /** A top-level fallbacks entry keyed by an alias passes the check but is never applied. */
  @Test
  void topLevelFallbacksKeyedByAliasAreApplied() {
    ConfigLoader.Result r = check("""
        providers:
          sim: { type: sim }
        models:
          chat-fast:
            aliases: [fast]
            deployments: [{ provider: sim }]
          backup:
            deployments: [{ provider: sim }]
        fallbacks:
          fast: [backup]
        """);
    assertThat(r.problems()).isEmpty();
    assertThat(r.ok()).isTrue();
    assertThat(r.config().models().get("chat-fast").fallbacks()).containsExactly("backup");
  }

  /** The store.retention default that docs/configuration.md documents must be accepted when written. */
  @Test
  void documentedRetentionDefaultIsAccepted() throws Exception {
    String row = Files.readAllLines(Path.of("docs/configuration.md")).stream()
        .filter(l -> l.startsWith("| `retention` |")).findFirst().orElseThrow();
    String value = row.split("\\|")[2].trim().split(" ")[0].replace("`", "");
    ConfigLoader.Result r = check("store:\n  retention: " + value + "\n");
    assertThat(errors(r)).as(value).isEmpty();
  }

  /** A YAML alias of a scalar (an anchor reused) must give the anchored value or an error, never the anchor's name. */
  @Test
  void yamlScalarAliasGivesTheAnchoredValue() {
    ConfigLoader.Result r = check("""
        providers:
          a: { type: openai, base_url: "http://127.0.0.1:1/v1", api_key: &k secret-value }
          b: { type: openai, base_url: "http://127.0.0.1:2/v1", api_key: *k }
        models:
          m:
            deployments: [{ provider: a }]
        """);
    if (r.ok()) {
      assertThat(r.config().providers().get("b").apiKey().reveal()).isEqualTo("secret-value");
    } else {
      assertThat(errors(r)).singleElement().satisfies(p -> assertThat(p.line()).isEqualTo(3));
    }
  }

  /** {@code config check} of a gateway whose simulator provider uses {@code profile} (as p.yaml in {@code dir}). */
  private static ConfigLoader.Result checkWithProfile(Path dir, String profile) throws Exception {
    Files.writeString(dir.resolve("p.yaml"), profile);
    Path cfg = dir.resolve("sluice.yaml");
    Files.writeString(cfg, """
        providers:
          sim: { type: sim, profile: p.yaml }
        models:
          m:
            deployments: [{ provider: sim }]
        """);
    return new ConfigLoader(Map.of()).check(cfg);
  }

  /** config check says OK for a simulator profile that serve cannot load. */
  @Test
  void brokenSimProfileIsReportedByCheck(@TempDir Path dir) throws Exception {
    ConfigLoader.Result r = checkWithProfile(dir, "models: [unclosed\n");
    boolean loads;
    try {
      dev.sluice.provider.sim.SimProfile.load(dir.resolve("p.yaml"), 1);
      loads = true;
    } catch (Exception e) {
      loads = false;
    }
    assertThat(loads).isFalse();
    assertThat(errors(r)).as("config check must report the profile serve cannot load").isNotEmpty();
  }

  /** A misspelt key in a simulator profile is an error, not a setting silently left at its default. */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {
      "models:\n  m: { tokens_per_secnd: 5 }\n",
      "defaults: { eror_rate: 0.5 }\n",
      "models:\n  m: { first_token: { median: 5ms, p90: 9ms } }\n",
      "sed: 3\n"})
  void aMisspeltSimProfileKeyIsReported(String profile, @TempDir Path dir) throws Exception {
    List<ConfigProblem> errors = errors(checkWithProfile(dir, profile));
    assertThat(errors).hasSize(1);
    assertThat(errors.toString()).contains("unknown key");
    org.assertj.core.api.Assertions.assertThatThrownBy(() ->
            dev.sluice.provider.sim.SimProfile.load(dir.resolve("p.yaml"), 1))
        .hasMessageContaining("unknown key");
  }

  /** The warning for an unset variable inside a list item points at the list, not at the item's key. */
  @Test
  void unsetVariableInAListItemIsLocatedAtItsLine() {
    ConfigLoader.Result r = check("""
        providers:
          sim: { type: sim }
        models:
          m:
            deployments:
              - provider: sim
                model: "${UP}"
        """);
    ConfigProblem p = r.problems().stream().filter(e -> e.message().contains("UP")).findFirst().orElseThrow();
    assertThat(p.line()).as(p.toString()).isEqualTo(7);
    assertThat(p.path()).isEqualTo("models.m.deployments[0].model");
  }

  /** A profile's own seed: applies in `sluice sim --profile`; in the gateway (Gateway.java:127 does exactly this) it is replaced by 1. */
  @Test
  void simProfileSeedAppliesInTheGateway(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("p.yaml"), "seed: 7\nmodels:\n  a: { error_rate: 0.5 }\n");
    Path cfg = dir.resolve("sluice.yaml");
    Files.writeString(cfg, """
        providers:
          sim: { type: sim, profile: p.yaml }
        models:
          m:
            deployments: [{ provider: sim, model: a }]
        """);
    ConfigLoader.Result r = new ConfigLoader(Map.of()).check(cfg);
    assertThat(errors(r)).isEmpty();
    var p = r.config().providers().get("sim");
    long seed = dev.sluice.provider.sim.SimProfile.load(java.nio.file.Path.of(p.sim().profile()), p.sim().seed()).seed();
    long standalone = dev.sluice.provider.sim.SimProfile.load(dir.resolve("p.yaml"), Long.MIN_VALUE).seed();
    assertThat(seed).isEqualTo(standalone).isEqualTo(7);
  }

  /** A first_byte the user wrote beyond the route deadline can never fire; only the inherited total is warned about. */
  @Test
  void explicitFirstByteBeyondTheRouteDeadlineIsAnError() {
    ConfigLoader.Result r = check("""
        deadline:
          tiers: { inference: 10s }
        providers:
          local:
            type: openai
            base_url: http://127.0.0.1:9/v1
            timeouts: { first_byte: 20s }
        models:
          m:
            deployments: [{ provider: local }]
        """);
    assertThat(errors(r)).as(r.problems().toString())
        .anySatisfy(p -> assertThat(p.path()).isEqualTo("providers.local.timeouts.first_byte"));
  }

  /** One wrong value is one problem: `timeouts: 5s` is reported once, not twice. */
  @Test
  void aTimeoutsValueThatIsNotAMappingIsReportedOnce() {
    ConfigLoader.Result r = check("""
        providers:
          sim: { type: sim, timeouts: 5s }
        models:
          m:
            deployments: [{ provider: sim, timeouts: 5s }]
        """);
    assertThat(errors(r)).as(r.problems().toString()).hasSize(2);
  }
}
