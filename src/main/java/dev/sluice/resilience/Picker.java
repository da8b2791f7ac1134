package dev.sluice.resilience;

import dev.sluice.routing.Deployment;
import dev.sluice.routing.RoutePlan;
import java.util.Collection;

/**
 * Chooses the deployment for the next attempt of one request: the least-tried deployment of the
 * plan (so every deployment is tried once before any is tried twice), in plan order, that has a free
 * concurrency slot, skipping those resting after a 429 or spent quota and those whose breaker
 * refuses a permit — unless nothing else is left, in which case the best of the rest is used anyway,
 * without a permit. The pick holds one slot on its deployment.
 */
final class Picker {
  /** A choice, and whether a breaker permit was taken for it. */
  record Pick(Deployment deployment, boolean permit) {}

  private final RoutePlan plan;
  private final int[] tried;

  Picker(RoutePlan plan) {
    this.plan = plan;
    this.tried = new int[plan.order().size()];
  }

  /**
   * Takes a concurrency slot (and, for a healthy deployment, a breaker permit) on the next
   * deployment to try; null when no deployment has a free slot.
   *
   * @param busy deployments that already have an attempt running for this request
   */
  Pick next(Collection<Deployment> busy) {
    // least tried first, plan order among equals: a stable insertion sort of the (few) indices,
    // without boxing, as this runs for every attempt
    int[] order = new int[tried.length];
    for (int i = 0; i < order.length; i++) {
      int j = i;
      while (j > 0 && tried[order[j - 1]] > tried[i]) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = i;
    }
    for (int i : order) {
      Deployment d = plan.order().get(i);
      if (busy.contains(d) || d.health().resting() || d.health().breakerOpen() || !d.limiter().tryAcquire()) {
        continue;
      }
      if (d.health().tryAcquire()) {
        return new Pick(d, true);
      }
      giveBackSlot(d);
    }
    // nothing healthy is free: of the rest, the least tried, and among those the one whose 429 rest
    // ends first, so that a retry waits for the shortest Retry-After rather than the first in plan order
    Integer[] rest = new Integer[order.length];
    for (int i = 0; i < order.length; i++) {
      rest[i] = order[i];
    }
    java.util.Arrays.sort(rest, java.util.Comparator.<Integer>comparingInt(i -> tried[i])
        .thenComparingLong(i -> plan.order().get(i).health().cooldownRemainingNanos()));
    for (int i : rest) {
      Deployment d = plan.order().get(i);
      if (!busy.contains(d) && d.limiter().tryAcquire()) {
        return new Pick(d, false);
      }
    }
    return null;
  }

  static void giveBackSlot(Deployment d) {
    d.limiter().release(0, -1, false, 0);
  }

  void markTried(Deployment d) {
    int i = plan.order().indexOf(d);
    if (i >= 0) {
      tried[i]++;
    }
  }

  int timesTried(Deployment d) {
    int i = plan.order().indexOf(d);
    return i < 0 ? 0 : tried[i];
  }
}
