package dev.sluice.routing;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Makes a request's {@link RoutePlan}: its model's deployments, balanced, then its fallbacks'. */
public final class RoutePlanner {
  private final ModelRegistry registry;
  private final Balancer balancer;

  public RoutePlanner(ModelRegistry registry, Balancer balancer) {
    this.registry = registry;
    this.balancer = balancer;
  }

  public RoutePlan plan(ModelGroup group) {
    return plan(group, g -> true);
  }

  /** The same, walking only the fallback models {@code allowed} accepts (the caller's key, its max_tokens). */
  public RoutePlan plan(ModelGroup group, java.util.function.Predicate<ModelGroup> allowed) {
    if (group.fallbacks().isEmpty()) {
      return new RoutePlan(group, balancer.order(group.deployments(), group.resilience().routing()));
    }
    Set<Deployment> order = new LinkedHashSet<>(balancer.order(group.deployments(), group.resilience().routing()));
    Set<String> seen = new LinkedHashSet<>();
    seen.add(group.name());
    for (String f : group.fallbacks()) {
      Optional<ModelGroup> g = registry.find(f);
      if (g.isPresent() && allowed.test(g.get()) && seen.add(g.get().name())) {
        order.addAll(balancer.order(g.get().deployments(), g.get().resilience().routing()));
      }
    }
    return new RoutePlan(group, new ArrayList<>(order));
  }

  public List<Deployment> order(ModelGroup g) {
    return balancer.order(g.deployments(), g.resilience().routing());
  }
}
