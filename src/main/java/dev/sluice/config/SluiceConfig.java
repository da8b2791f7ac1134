package dev.sluice.config;

import java.util.Map;

/** The whole configuration, immutable and validated when loaded ({@link ConfigLoader}). */
public record SluiceConfig(
    ServerConfig server,
    DeadlineConfig deadline,
    Map<String, ProviderConfig> providers,
    Map<String, ModelConfig> models,
    String source) {

  public SluiceConfig {
    providers = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(providers));
    models = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(models));
  }

  public SluiceConfig withServer(ServerConfig s) {
    return new SluiceConfig(s, deadline, providers, models, source);
  }

  public SluiceConfig withDeadline(DeadlineConfig d) {
    return new SluiceConfig(server, d, providers, models, source);
  }
}
