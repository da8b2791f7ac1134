package dev.sluice.config;

import java.util.List;

/**
 * A client-facing model name and the deployments that serve it.
 *
 * @param name        what clients put in {@code model}
 * @param aliases     other names clients may use for it
 * @param deployments in order of preference
 * @param fallbacks   other models to walk, in order, when every deployment of this one failed
 * @param resilience  retries, budgets, breakers, hedging and routing for this model
 * @param maxTokens   the largest {@code max_tokens} a request may ask of this model, or -1 for no ceiling
 */
public record ModelConfig(String name, List<String> aliases, List<DeploymentConfig> deployments,
    List<String> fallbacks, ResilienceConfig resilience, int maxTokens) {
  public ModelConfig {
    aliases = List.copyOf(aliases);
    deployments = List.copyOf(deployments);
    fallbacks = List.copyOf(fallbacks);
  }
}
