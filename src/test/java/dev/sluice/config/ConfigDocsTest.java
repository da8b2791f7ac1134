package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * docs/configuration.md against the loader, both ways: every key the loader accepts is named in the
 * page, and every key of the page's tables is one the loader accepts where the page puts it. The
 * loader says what it accepts: an unknown key in a section is refused with the section's keys.
 */
class ConfigDocsTest {
  /** An unknown key {@code zz} in every section the loader reads. */
  private static final String PROBE = """
      zz: 1
      server: { zz: 1 }
      deadline: { zz: 1, tiers: { zz: 1 } }
      providers:
        sim: { type: sim, zz: 1, timeouts: { zz: 1 } }
      models:
        demo:
          zz: 1
          deployments:
            - { provider: sim, zz: 1 }
          resilience:
            zz: 1
            retry: { zz: 1, backoff: { zz: 1 } }
            budget: { zz: 1 }
            breaker: { zz: 1 }
            hedge: { zz: 1 }
            adaptive_first_byte: { zz: 1 }
            quota: { zz: 1 }
      admission: { zz: 1, queue: { zz: 1, shares: { zz: 1 } }, memory: { zz: 1 }, concurrency: { zz: 1 } }
      store: { zz: 1 }
      admin: { zz: 1 }
      """;
  private static final Pattern UNKNOWN = Pattern.compile("^(?:(.*)\\.)?zz: unknown key 'zz'; expected one of \\[(.*)]$");

  /** Section path (generalised: {@code providers.*}, {@code models.*.deployments[]}) to the keys it accepts. */
  private static Map<String, Set<String>> accepted() {
    ConfigLoader.Result r = new ConfigLoader(Map.of()).check(PROBE, "probe", Path.of("."), false);
    Map<String, Set<String>> out = new TreeMap<>();
    for (ConfigProblem p : r.problems()) {
      Matcher m = UNKNOWN.matcher(p.path() + ": " + p.message());
      if (m.matches()) {
        String section = m.group(1) == null ? "" : m.group(1)
            .replace("providers.sim", "providers.*").replace("models.demo.deployments[0]", "deployments[]")
            .replace("models.demo.resilience", "resilience").replace("models.demo", "models.*");
        out.put(section, new TreeSet<>(Arrays.asList(m.group(2).split(", "))));
      }
    }
    return out;
  }

  private static String doc() throws Exception {
    return Files.readString(Path.of("docs/configuration.md"));
  }

  @Test
  void everyKeyTheLoaderAcceptsIsNamedInTheDoc() throws Exception {
    Map<String, Set<String>> accepted = accepted();
    assertThat(accepted.keySet()).as("every probed section answered").hasSize(23);
    String doc = doc();
    Set<String> missing = new TreeSet<>();
    accepted.forEach((section, keys) -> keys.forEach(k -> {
      // in a table (`key`, `tiers.info`, `models.<m>.key`, `deployments[].key`) or in an example (key:)
      boolean named = doc.contains("`" + k + "`") || doc.contains("`" + k + ".") || doc.contains("." + k + "`") || doc.contains(" " + k + ":")
          || doc.contains("{ " + k + ":") || doc.contains("{" + k + ":");
      if (!named) {
        missing.add(section + "." + k);
      }
    }));
    assertThat(missing).as("accepted by the loader, not in docs/configuration.md").isEmpty();
  }

  /** The key tables of the page: their section and the keys in their first column. */
  @Test
  void everyKeyInTheDocsTablesIsAcceptedWhereTheDocPutsIt() throws Exception {
    Map<String, Set<String>> accepted = accepted();
    String doc = doc();
    Map<String, String> tables = Map.of(
        "## `server`", "server",
        "## `deadline`", "deadline",
        "## `providers`", "providers.*",
        "### `timeouts`", "providers.*.timeouts",
        "## `store`", "store",
        "## `admin`", "admin");
    Set<String> unknown = new TreeSet<>();
    tables.forEach((heading, section) -> {
      int from = doc.indexOf(heading);
      assertThat(from).as(heading).isNotNegative();
      int table = doc.indexOf("| key |", from);
      int end = doc.indexOf("\n\n", table);
      for (String row : doc.substring(table, end).split("\n")) {
        if (!row.startsWith("| `")) {
          continue;
        }
        String first = row.split("\\|")[1];
        for (String k : first.replace("`", "").split(",")) {
          String key = k.trim();
          String in = section;
          if (key.contains(".")) { // tiers.info
            in = section + "." + key.substring(0, key.lastIndexOf('.'));
            key = key.substring(key.lastIndexOf('.') + 1);
          }
          if (!accepted.getOrDefault(in, Set.of()).contains(key)) {
            unknown.add(in + "." + key);
          }
        }
      }
    });
    // the table of a model's further keys names them by their full path
    Matcher m = Pattern.compile("(?m)^\\| `(models\\.<m>|deployments\\[\\])\\.([a-z_]+)` \\|").matcher(doc);
    List<String> more = new java.util.ArrayList<>();
    while (m.find()) {
      String in = m.group(1).equals("models.<m>") ? "models.*" : "deployments[]";
      more.add(in + "." + m.group(2));
      if (!accepted.getOrDefault(in, Set.of()).contains(m.group(2))) {
        unknown.add(in + "." + m.group(2));
      }
    }
    assertThat(more).as("the model table was read").isNotEmpty();
    assertThat(unknown).as("in docs/configuration.md's tables, refused by the loader").isEmpty();
  }

  /** The defaults of the page's tables that have one plain value, against the loader's. */
  @Test
  void theDocumentedDefaultsAreTheLoadersDefaults() throws Exception {
    SluiceConfig c = new ConfigLoader(Map.of()).loadText("""
        providers:
          sim: { type: sim }
        models:
          demo:
            deployments: [ { provider: sim } ]
        """, "defaults");
    Map<String, Object> expected = new TreeMap<>();
    expected.put("host", c.server().host());
    expected.put("port", String.valueOf(c.server().port()));
    expected.put("event_loops", String.valueOf(c.server().eventLoops()));
    expected.put("transport", c.server().transport());
    expected.put("max_body_size", String.valueOf(c.server().maxBodyBytes()));
    expected.put("max_messages", String.valueOf(c.server().maxMessages()));
    expected.put("metrics", String.valueOf(c.server().metrics()));
    expected.put("cap", c.deadline().cap());
    expected.put("skip", String.valueOf(c.deadline().skip()));
    expected.put("tiers.info", c.deadline().info());
    expected.put("tiers.inference", c.deadline().inference());
    expected.put("tiers.inference_stream", c.deadline().inferenceStream());
    expected.put("tiers.files", c.deadline().files());
    expected.put("tiers.workflows", c.deadline().workflows());
    expected.put("max_connections", String.valueOf(c.providers().get("sim").maxConnections()));
    expected.put("http2", String.valueOf(c.providers().get("sim").http2()));
    expected.put("connect", Timeouts.DEFAULTS.connect());
    expected.put("first_byte", Timeouts.DEFAULTS.firstByte());
    expected.put("first_token", Timeouts.DEFAULTS.firstToken());
    expected.put("idle", Timeouts.DEFAULTS.idle());
    expected.put("total", Timeouts.DEFAULTS.total());
    expected.put("stream_total", Timeouts.DEFAULTS.streamTotal());
    expected.put("url", c.store().url());
    expected.put("retention", c.store().retention());
    expected.put("batch_size", String.valueOf(c.store().batchSize()));
    expected.put("buffer", String.valueOf(c.store().buffer()));
    Map<String, Object> written = new TreeMap<>();
    Matcher m = Pattern.compile("(?m)^\\| `([a-z_.0-9]+)` \\| `([^`]+)`").matcher(doc());
    while (m.find()) {
      Object was = expected.get(m.group(1));
      if (was != null) {
        String v = m.group(2);
        written.put(m.group(1), was instanceof java.time.Duration ? Durations.parse(v)
            : v.equals("8MiB") ? String.valueOf(8L << 20) : v);
      }
    }
    assertThat(written).isEqualTo(expected);
  }
}
