package dev.sluice.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The whole configuration, immutable and validated when loaded ({@link ConfigLoader}).
 *
 * @param adminKey guards {@code /admin/*} and the dashboard's data; from {@code admin.key} or
 *                 {@code SLUICE_ADMIN_KEY}. Empty: those answer on loopback only.
 */
public record SluiceConfig(
    ServerConfig server,
    DeadlineConfig deadline,
    ResilienceConfig resilience,
    StoreConfig store,
    AdmissionConfig admission,
    Secret adminKey,
    Map<String, ProviderConfig> providers,
    Map<String, ModelConfig> models,
    String source) {

  public SluiceConfig {
    providers = Collections.unmodifiableMap(new LinkedHashMap<>(providers));
    models = Collections.unmodifiableMap(new LinkedHashMap<>(models));
  }

  public SluiceConfig withServer(ServerConfig s) {
    return new SluiceConfig(s, deadline, resilience, store, admission, adminKey, providers, models, source);
  }

  public SluiceConfig withDeadline(DeadlineConfig d) {
    return new SluiceConfig(server, d, resilience, store, admission, adminKey, providers, models, source);
  }

  public SluiceConfig withStore(StoreConfig st) {
    return new SluiceConfig(server, deadline, resilience, st, admission, adminKey, providers, models, source);
  }

  public SluiceConfig withAdmission(AdmissionConfig a) {
    return new SluiceConfig(server, deadline, resilience, store, a, adminKey, providers, models, source);
  }

  public SluiceConfig withProviders(Map<String, ProviderConfig> p) {
    return new SluiceConfig(server, deadline, resilience, store, admission, adminKey, p, models, source);
  }
}
