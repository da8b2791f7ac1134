package dev.sluice.routing;

import dev.sluice.config.ResilienceConfig;
import java.util.List;

/**
 * The deployments that serve one client-facing model name, how they are balanced, and the models
 * to fall back to (by name, resolved when a plan is made).
 */
public record ModelGroup(String name, List<Deployment> deployments, List<String> fallbacks,
    ResilienceConfig resilience) {
  public ModelGroup {
    deployments = List.copyOf(deployments);
    fallbacks = List.copyOf(fallbacks);
  }
}
