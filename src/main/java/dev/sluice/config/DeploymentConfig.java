package dev.sluice.config;

import java.util.Objects;

/**
 * One way of serving a model: a provider and the model name it knows.
 *
 * @param id       unique within its model; defaults to {@code provider/model}
 * @param provider the provider's name
 * @param model    the upstream model name (the client-facing name may differ: that is the alias)
 * @param weight   share of traffic under weighted routing; default 1
 * @param timeouts guards, the provider's defaults overridden by the deployment's own
 * @param maxConcurrency a fixed ceiling on attempts in flight (the adaptive limit stays below it), or -1
 */
public record DeploymentConfig(String id, String provider, String model, int weight, Timeouts timeouts,
    int maxConcurrency) {
  public DeploymentConfig {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(provider, "provider");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(timeouts, "timeouts");
  }
}
