package dev.sluice.routing;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Orders a group's deployments by weighted random sampling without replacement: the first is
 * chosen with probability proportional to its weight, the next among the rest, and so on, so that
 * fail-over walks alternatives in a weight-respecting order. Weight 0 deployments come last.
 */
public final class WeightedPlanner {
  private final RandomGenerator random;

  public WeightedPlanner(RandomGenerator random) {
    this.random = random;
  }

  public List<Deployment> order(List<Deployment> ds) {
    if (ds.size() == 1) {
      return ds;
    }
    List<Deployment> left = new ArrayList<>(ds);
    List<Deployment> order = new ArrayList<>(ds.size());
    while (!left.isEmpty()) {
      long total = 0;
      for (Deployment d : left) {
        total += d.weight();
      }
      int pick = 0;
      if (total > 0) {
        long r = random.nextLong(total);
        for (int i = 0; i < left.size(); i++) {
          r -= left.get(i).weight();
          if (r < 0) {
            pick = i;
            break;
          }
        }
      }
      order.add(left.remove(pick));
    }
    return order;
  }
}
