package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.routing.ModelRegistry;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Metric and live-view labels stay few: client-chosen pass-through names fold into one per provider. */
class ModelLabelsTest {
  @Test
  void configuredNamesStayAndPassThroughNamesFold() {
    var config = new ConfigLoader(Map.of("OPENAI_API_KEY", "sk-x")).loadText("""
        providers:
          openai: { preset: openai }
        models:
          gpt-4o: { deployments: [{ provider: openai }] }
        """, "t");
    var labels = Gateway.modelLabels(new ModelRegistry(config));
    assertThat(labels.apply("gpt-4o")).isEqualTo("gpt-4o");
    assertThat(labels.apply("openai/gpt-4.1")).isEqualTo("openai/*");
    assertThat(labels.apply("openai/anything-at-all")).isEqualTo("openai/*");
    assertThat(labels.apply("unknown")).isEqualTo("unknown");
  }
}
