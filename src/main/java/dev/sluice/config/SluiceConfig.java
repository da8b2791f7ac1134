package dev.sluice.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** The whole configuration, immutable and validated when loaded ({@link ConfigLoader}). */
public record SluiceConfig(
    ServerConfig server,
    DeadlineConfig deadline,
    ResilienceConfig resilience,
    Map<String, ProviderConfig> providers,
    Map<String, ModelConfig> models,
    String source) {

  public SluiceConfig {
    providers = Collections.unmodifiableMap(new LinkedHashMap<>(providers));
    models = Collections.unmodifiableMap(new LinkedHashMap<>(models));
  }

  public SluiceConfig withServer(ServerConfig s) {
    return new SluiceConfig(s, deadline, resilience, providers, models, source);
  }

  public SluiceConfig withDeadline(DeadlineConfig d) {
    return new SluiceConfig(server, d, resilience, providers, models, source);
  }

  public SluiceConfig withProviders(Map<String, ProviderConfig> p) {
    return new SluiceConfig(server, deadline, resilience, p, models, source);
  }
}
