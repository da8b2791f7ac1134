package dev.sluice.testing;

import dev.sluice.config.ConfigLoader;
import dev.sluice.routing.Deployment;
import dev.sluice.routing.ModelGroup;
import dev.sluice.routing.ModelRegistry;
import dev.sluice.routing.RoutePlan;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Real deployments (health, breaker, concurrency limit) built from YAML on an injected clock, for
 * unit tests of routing and resilience that need no network.
 */
public final class Deployments {
  private final ModelRegistry registry;

  private Deployments(ModelRegistry registry) {
    this.registry = registry;
  }

  public static Deployments of(String yaml, LongSupplier clock) {
    return new Deployments(new ModelRegistry(new ConfigLoader(Map.of()).loadText(yaml, "test"), clock, null));
  }

  public ModelRegistry registry() {
    return registry;
  }

  public ModelGroup group(String model) {
    return registry.find(model).orElseThrow();
  }

  /** A deployment by id, in any model. */
  public Deployment get(String id) {
    return registry.deployments().stream().filter(d -> d.id().equals(id)).findFirst().orElseThrow();
  }

  /** A plan that tries the model's deployments in configuration order. */
  public RoutePlan inOrder(String model) {
    ModelGroup g = group(model);
    return new RoutePlan(g, g.deployments());
  }

  /** A plan over the given deployments of the model, in the given order. */
  public RoutePlan plan(String model, String... ids) {
    return new RoutePlan(group(model), List.of(ids).stream().map(this::get).toList());
  }
}
