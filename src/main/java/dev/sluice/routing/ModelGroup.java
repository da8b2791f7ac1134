package dev.sluice.routing;

import dev.sluice.admission.AdmissionQueue;
import dev.sluice.config.ResilienceConfig;
import java.util.List;

/**
 * The deployments that serve one client-facing model name, how they are balanced, the models to
 * fall back to (by name, resolved when a plan is made), the largest {@code max_tokens} it allows,
 * and the queue where its requests wait for a deployment's concurrency.
 */
public record ModelGroup(String name, List<Deployment> deployments, List<String> fallbacks,
    ResilienceConfig resilience, int maxTokens, AdmissionQueue queue) {
  public ModelGroup {
    deployments = List.copyOf(deployments);
    fallbacks = List.copyOf(fallbacks);
  }
}
