package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.routing.Deployment;
import dev.sluice.routing.ModelGroup;
import dev.sluice.server.Services;
import java.time.Duration;

/**
 * Everything a request can hold, read where it is actually kept, not only in the ledger that mirrors
 * it: the ledger at zero, no attempt in flight on any deployment, no concurrency slot taken, no queue
 * entry, no admission ticket, and no exchange left open at the simulator.
 */
public final class AtRest {
  private AtRest() {}

  public static void check(TestGateway gw) {
    gw.awaitAtRest();
    Services s = gw.gateway().services();
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
      for (Deployment d : s.registry().deployments()) {
        assertThat(d.inFlight()).as("attempts in flight on %s", d.id()).isZero();
        assertThat(d.limiter().inFlight()).as("concurrency slots held on %s", d.id()).isZero();
      }
      for (ModelGroup g : s.registry().groups()) {
        assertThat(g.queue().size()).as("queued for %s", g.name()).isZero();
      }
      assertThat(s.admission().inFlight()).as("admission tickets").isZero();
      if (gw.sim() != null) {
        assertThat(gw.sim().stats().open()).as("exchanges open at the simulator").isZero();
      }
    });
  }
}
