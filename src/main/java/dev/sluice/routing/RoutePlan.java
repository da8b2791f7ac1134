package dev.sluice.routing;

import java.util.List;

/**
 * The deployments a request may try, in order of preference: the model's own deployments as its
 * balancer ordered them, then its fallback models' deployments. The resilience settings are the
 * requested model's.
 */
public record RoutePlan(ModelGroup group, List<Deployment> order) {
  public RoutePlan {
    order = List.copyOf(order);
  }

  public Deployment primary() {
    return order.get(0);
  }

  /** How many deployments come from the requested model itself (the rest are fallbacks). */
  public int ownCount() {
    return group.deployments().size();
  }
}
