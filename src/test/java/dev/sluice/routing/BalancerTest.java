package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.config.ResilienceConfig.Routing;
import dev.sluice.testing.Deployments;
import dev.sluice.testing.FakeClock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BalancerTest {
  private static final long MS = 1_000_000L;
  private static final String YAML = """
      providers:
        sim: { type: sim }
      models:
        m:
          deployments:
            - { id: a, provider: sim, model: x, weight: 1 }
            - { id: b, provider: sim, model: x, weight: 2 }
            - { id: c, provider: sim, model: x, weight: 7 }
        z:
          deployments:
            - { id: z1, provider: sim, model: x, weight: 0 }
            - { id: z2, provider: sim, model: x, weight: 3 }
            - { id: z3, provider: sim, model: x, weight: 0 }
        solo:
          deployments:
            - { id: s, provider: sim, model: x }
      """;

  private final FakeClock clock = new FakeClock();
  private final Deployments ds = Deployments.of(YAML, clock);
  private final Balancer balancer = new Balancer(new SplittableRandom(2024));

  private Map<String, Integer> firsts(String model, Routing routing, int draws) {
    Map<String, Integer> n = new HashMap<>();
    List<Deployment> group = ds.group(model).deployments();
    for (int i = 0; i < draws; i++) {
      List<Deployment> order = balancer.order(group, routing);
      assertThat(order).as("every deployment exactly once").hasSize(group.size()).containsExactlyInAnyOrderElementsOf(group);
      n.merge(order.get(0).id(), 1, Integer::sum);
    }
    return n;
  }

  @Test
  void weightedRandomPutsEachFirstInProportionToItsWeight() {
    int draws = 100_000;
    Map<String, Integer> n = firsts("m", Routing.WEIGHTED, draws);
    assertThat(n.get("a") / (double) draws).isCloseTo(0.1, within(0.01));
    assertThat(n.get("b") / (double) draws).isCloseTo(0.2, within(0.01));
    assertThat(n.get("c") / (double) draws).isCloseTo(0.7, within(0.01));
  }

  @Test
  void weightedFailOverOrderRespectsWeightsAmongTheRest() {
    // when c (weight 7) goes first, b (2) should come second twice as often as a (1)
    List<Deployment> group = ds.group("m").deployments();
    int bSecond = 0;
    int aSecond = 0;
    for (int i = 0; i < 100_000; i++) {
      List<Deployment> order = balancer.order(group, Routing.WEIGHTED);
      if (order.get(0).id().equals("c")) {
        if (order.get(1).id().equals("b")) {
          bSecond++;
        } else {
          aSecond++;
        }
      }
    }
    assertThat(bSecond / (double) (aSecond + bSecond)).isCloseTo(2 / 3.0, within(0.015));
  }

  @Test
  void weightZeroComesLastAndOnlyFirstWhenAllAreZero() {
    Map<String, Integer> n = firsts("z", Routing.WEIGHTED, 10_000);
    assertThat(n).containsOnlyKeys("z2");
    for (int i = 0; i < 100; i++) {
      List<Deployment> order = balancer.order(ds.group("z").deployments(), Routing.WEIGHTED);
      assertThat(order.get(0).id()).isEqualTo("z2");
      // the zero-weight ones follow in configuration order
      assertThat(order.subList(1, 3)).extracting(Deployment::id).containsExactly("z1", "z3");
    }
  }

  @Test
  void aSingleDeploymentIsItsOwnPlan() {
    for (Routing r : Routing.values()) {
      assertThat(balancer.order(ds.group("solo").deployments(), r)).extracting(Deployment::id).containsExactly("s");
    }
  }

  @Test
  void powerOfTwoChoicesPrefersTheLowerCost() {
    ds.get("a").health().recordLatency(false, 100 * MS);
    ds.get("b").health().recordLatency(false, 300 * MS);
    ds.get("c").health().recordLatency(false, 900 * MS);
    int draws = 30_000;
    Map<String, Integer> n = firsts("m", Routing.P2C, draws);
    // of three pairs, a wins the two it is in, b wins the one with c; c never goes first
    assertThat(n.get("a") / (double) draws).isCloseTo(2 / 3.0, within(0.015));
    assertThat(n.get("b") / (double) draws).isCloseTo(1 / 3.0, within(0.015));
    assertThat(n).doesNotContainKey("c");
    for (int i = 0; i < 100; i++) {
      List<Deployment> order = balancer.order(ds.group("m").deployments(), Routing.P2C);
      // after the first, the rest go cheapest first
      List<Deployment> rest = order.subList(1, 3);
      assertThat(cost(rest.get(0))).isLessThanOrEqualTo(cost(rest.get(1)));
    }
  }

  @Test
  void powerOfTwoChoicesPenalisesAttemptsInFlight() {
    Deployment a = ds.get("a");
    Deployment b = ds.get("b");
    a.health().recordLatency(false, 100 * MS);
    b.health().recordLatency(false, 300 * MS);
    ds.get("c").health().recordLatency(false, 900 * MS);
    // a: 100 ms x (3 + 1) = 400 ms, more than b's 300 ms
    for (int i = 0; i < 3; i++) {
      a.attemptStarted();
    }
    Map<String, Integer> n = firsts("m", Routing.P2C, 30_000);
    assertThat(n.get("b") / 30_000.0).isCloseTo(2 / 3.0, within(0.015));
    assertThat(n.get("a") / 30_000.0).isCloseTo(1 / 3.0, within(0.015));
    for (int i = 0; i < 3; i++) {
      a.attemptEnded();
    }
  }

  @Test
  void powerOfTwoChoicesDoesNotStarveADeploymentAfterOneSlowAnswer() {
    Deployment a = ds.get("a");
    Deployment b = ds.get("b");
    Deployment c = ds.get("c");
    a.health().recordLatency(false, 10_000 * MS); // one answer took 10 s
    // b and c keep answering in 300 ms for two minutes; a gets no traffic (it lost every pair)
    for (int s = 0; s < 120; s++) {
      clock.advance(Duration.ofSeconds(1));
      b.health().recordLatency(false, 300 * MS);
      c.health().recordLatency(false, 300 * MS);
    }
    Map<String, Integer> n = firsts("m", Routing.P2C, 3_000);
    assertThat(n.getOrDefault("a", 0)).as("a must be tried again once its old peak has faded").isGreaterThan(0);
  }

  @Test
  void leastInFlightGoesToTheLeastBusy() {
    Deployment a = ds.get("a");
    Deployment b = ds.get("b");
    Deployment c = ds.get("c");
    a.attemptStarted();
    c.attemptStarted();
    c.attemptStarted();
    for (int i = 0; i < 200; i++) {
      List<Deployment> order = balancer.order(ds.group("m").deployments(), Routing.LEAST_INFLIGHT);
      assertThat(order).extracting(Deployment::id).containsExactly("b", "a", "c");
    }
    b.attemptStarted();
    b.attemptStarted();
    // a: 1, b: 2, c: 2 -> a first; b and c tie and go by weight (c is 7 to b's 2)
    int cSecond = 0;
    for (int i = 0; i < 9_000; i++) {
      List<Deployment> order = balancer.order(ds.group("m").deployments(), Routing.LEAST_INFLIGHT);
      assertThat(order.get(0)).isSameAs(a);
      if (order.get(1) == c) {
        cSecond++;
      }
    }
    assertThat(cSecond / 9_000.0).isCloseTo(7 / 9.0, within(0.02));
  }

  private static double cost(Deployment d) {
    return d.health().ewma().cost(d.inFlight());
  }
}
