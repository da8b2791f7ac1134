package dev.sluice.routing;

import java.util.List;

/** The deployments that serve one client-facing model name. */
public record ModelGroup(String name, List<Deployment> deployments) {
  public ModelGroup {
    deployments = List.copyOf(deployments);
  }
}
