package dev.sluice.routing;

import java.util.List;

/** The deployments a request may try, in order: the first is the primary choice. */
public record RoutePlan(ModelGroup group, List<Deployment> order) {
  public RoutePlan {
    order = List.copyOf(order);
  }

  public Deployment primary() {
    return order.get(0);
  }
}
