package dev.sluice.routing;

import dev.sluice.config.ResilienceConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Orders a model's deployments for one request. The first is the one to try; the rest are the
 * order of fail-over. Health (breakers, cooldowns, quota) is not judged here but when an attempt is
 * about to start, because it can change while the request runs.
 */
public final class Balancer {
  private final RandomGenerator random;
  private final WeightedPlanner weighted;

  public Balancer(RandomGenerator random) {
    this.random = random;
    this.weighted = new WeightedPlanner(random);
  }

  public List<Deployment> order(List<Deployment> ds, ResilienceConfig.Routing routing) {
    if (ds.size() <= 1) {
      return ds;
    }
    return switch (routing) {
      case WEIGHTED -> weighted.order(ds);
      case LEAST_INFLIGHT -> leastInFlight(ds);
      case P2C -> powerOfTwo(ds);
    };
  }

  private List<Deployment> leastInFlight(List<Deployment> ds) {
    List<Deployment> shuffled = weighted.order(ds); // ties go by weight
    List<Deployment> out = new ArrayList<>(shuffled);
    out.sort(Comparator.comparingInt(Deployment::inFlight));
    return out;
  }

  /**
   * Power of two choices: of two deployments picked at random, the one with the lower PeakEWMA cost
   * goes first; the rest follow by cost. Two random picks avoid the herd that "always the best"
   * causes, and need no global view.
   */
  private List<Deployment> powerOfTwo(List<Deployment> ds) {
    int n = ds.size();
    int a = random.nextInt(n);
    int b = random.nextInt(n - 1);
    if (b >= a) {
      b++;
    }
    Deployment da = ds.get(a);
    Deployment db = ds.get(b);
    Deployment first = cost(da) <= cost(db) ? da : db;
    List<Deployment> rest = new ArrayList<>(ds);
    rest.remove(first);
    rest.sort(Comparator.comparingDouble(Balancer::cost));
    List<Deployment> out = new ArrayList<>(n);
    out.add(first);
    out.addAll(rest);
    return out;
  }

  private static double cost(Deployment d) {
    return d.health().ewma().cost(d.inFlight());
  }
}
