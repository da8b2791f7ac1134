package dev.sluice.config;

import java.util.List;

/**
 * A client-facing model name and the deployments that serve it.
 *
 * @param name        what clients put in {@code model}
 * @param aliases     other names clients may use for it
 * @param deployments in order of preference
 */
public record ModelConfig(String name, List<String> aliases, List<DeploymentConfig> deployments) {
  public ModelConfig {
    aliases = List.copyOf(aliases);
    deployments = List.copyOf(deployments);
  }
}
