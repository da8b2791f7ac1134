package dev.sluice.routing;

import dev.sluice.admission.AdmissionQueue;
import java.util.List;

/**
 * The concurrency slots of a model's deployments, as its queue sees them: a dispatch takes a slot on
 * the least loaded deployment that has one (relative to its limit), skipping deployments whose
 * breaker is open or that rest after a 429 while others can serve.
 */
final class GroupSlots implements AdmissionQueue.Slots {
  private final List<Deployment> deployments;

  GroupSlots(List<Deployment> deployments) {
    this.deployments = deployments;
  }

  @Override
  public Object tryTake() {
    Deployment d = take(true);
    return d != null ? d : take(false);
  }

  private Deployment take(boolean healthyOnly) {
    Deployment best = null;
    double bestLoad = Double.MAX_VALUE;
    for (Deployment d : deployments) {
      if (healthyOnly && (d.health().resting() || d.health().breakerOpen())) {
        continue;
      }
      double load = (double) d.limiter().inFlight() / Math.max(1, d.limiter().limit());
      if (load < 1 && load < bestLoad) {
        best = d;
        bestLoad = load;
      }
    }
    if (best != null && best.limiter().tryAcquire()) {
      return best;
    }
    // lost a race for that slot: try the others in order
    for (Deployment d : deployments) {
      if (d != best && (!healthyOnly || !(d.health().resting() || d.health().breakerOpen()))
          && d.limiter().tryAcquire()) {
        return d;
      }
    }
    return null;
  }

  @Override
  public void giveBack(Object slot) {
    ((Deployment) slot).limiter().release(0, -1, false, 0);
  }

  @Override
  public int totalLimit() {
    int t = 0;
    for (Deployment d : deployments) {
      t += d.limiter().limit();
    }
    return t;
  }

  @Override
  public double meanHoldNanos() {
    double sum = 0;
    for (Deployment d : deployments) {
      sum += d.limiter().meanHoldNanos();
    }
    return deployments.isEmpty() ? 1e8 : sum / deployments.size();
  }
}
