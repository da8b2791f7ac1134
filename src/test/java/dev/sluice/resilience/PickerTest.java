package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.routing.Deployment;
import dev.sluice.testing.Deployments;
import dev.sluice.testing.FakeClock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PickerTest {
  private static final String YAML = """
      providers:
        sim: { type: sim }
      models:
        m:
          deployments:
            - { id: a, provider: sim, model: x, max_concurrency: 2 }
            - { id: b, provider: sim, model: x, max_concurrency: 2 }
            - { id: c, provider: sim, model: x, max_concurrency: 2 }
          resilience:
            breaker: { window: 4, minimum_calls: 2, failure_rate: 50, open_for: 5s, half_open_calls: 1 }
      admission:
        concurrency: { algorithm: fixed, initial: 100 }
      """;

  private final FakeClock clock = new FakeClock();
  private Deployments ds;
  private Deployment a;
  private Deployment b;
  private Deployment c;
  private Picker picker;

  @BeforeEach
  void setUp() {
    ds = Deployments.of(YAML, clock);
    a = ds.get("a");
    b = ds.get("b");
    c = ds.get("c");
    picker = new Picker(ds.inOrder("m"));
  }

  /** Picks, checks, and gives the pick back as an abandoned attempt would. */
  private Picker.Pick pickAndReturn(List<Deployment> busy) {
    Picker.Pick p = picker.next(busy);
    if (p != null) {
      if (p.permit()) {
        p.deployment().health().release(true);
      }
      Picker.giveBackSlot(p.deployment());
    }
    return p;
  }

  private void openBreaker(Deployment d) {
    for (int i = 0; i < 2; i++) {
      assertThat(d.health().tryAcquire()).isTrue();
      d.health().onFailure(1_000_000, new IllegalStateException("503"), true);
    }
    assertThat(d.health().breakerState()).isEqualTo("open");
  }

  @Test
  void triesEveryDeploymentOnceBeforeAnyTwiceInPlanOrder() {
    StringBuilder order = new StringBuilder();
    for (int i = 0; i < 7; i++) {
      Picker.Pick p = pickAndReturn(List.of());
      assertThat(p.permit()).isTrue();
      order.append(p.deployment().id());
      picker.markTried(p.deployment());
    }
    assertThat(order.toString()).isEqualTo("abcabca");
    assertThat(picker.timesTried(a)).isEqualTo(3);
    assertThat(picker.timesTried(b)).isEqualTo(2);
  }

  @Test
  void planOrderDecidesAmongEquallyTried() {
    Picker p = new Picker(ds.plan("m", "c", "a", "b"));
    Picker.Pick first = p.next(List.of());
    assertThat(first.deployment()).isSameAs(c);
    p.markTried(c);
    Picker.giveBackSlot(c);
    c.health().release(true);
    assertThat(p.next(List.of()).deployment()).isSameAs(a);
  }

  @Test
  void skipsDeploymentsThatAreBusyWithThisRequest() {
    assertThat(pickAndReturn(List.of(a)).deployment()).isSameAs(b);
    assertThat(pickAndReturn(List.of(a, b)).deployment()).isSameAs(c);
    assertThat(pickAndReturn(List.of(a, b, c))).as("nothing that is not busy").isNull();
  }

  @Test
  void aPickHoldsExactlyOneSlotOnItsDeployment() {
    Picker.Pick p = picker.next(List.of());
    assertThat(p.deployment()).isSameAs(a);
    assertThat(a.limiter().inFlight()).isEqualTo(1);
    assertThat(b.limiter().inFlight()).isZero();
    assertThat(c.limiter().inFlight()).isZero();
    Picker.giveBackSlot(a);
    a.health().release(true);
    assertThat(a.limiter().inFlight()).isZero();
  }

  @Test
  void skipsFullDeploymentsAndGivesNothingWhenAllAreFull() {
    assertThat(a.limiter().tryAcquire()).isTrue();
    assertThat(a.limiter().tryAcquire()).isTrue();
    Picker.Pick p = picker.next(List.of());
    assertThat(p.deployment()).isSameAs(b);
    assertThat(a.limiter().inFlight()).as("no slot leaked on the full one").isEqualTo(2);
    Picker.giveBackSlot(b);
    b.health().release(true);
    for (Deployment d : List.of(b, c)) {
      d.limiter().tryAcquire();
      d.limiter().tryAcquire();
    }
    assertThat(picker.next(List.of())).isNull();
    assertThat(a.limiter().inFlight() + b.limiter().inFlight() + c.limiter().inFlight()).isEqualTo(6);
  }

  @Test
  void skipsADeploymentResting429UnlessNothingElseIsLeft() {
    a.health().coolDown(Duration.ofSeconds(3).toNanos());
    Picker.Pick p = pickAndReturn(List.of());
    assertThat(p.deployment()).isSameAs(b);
    assertThat(p.permit()).isTrue();
    b.health().coolDown(Duration.ofSeconds(3).toNanos());
    c.health().coolDown(Duration.ofSeconds(3).toNanos());
    p = pickAndReturn(List.of());
    assertThat(p.deployment()).as("all rest: the best of the rest anyway").isSameAs(a);
    assertThat(p.permit()).as("without a breaker permit").isFalse();
    clock.advance(Duration.ofSeconds(3));
    assertThat(pickAndReturn(List.of()).permit()).isTrue();
  }

  @Test
  void skipsADeploymentWhoseQuotaIsSpent() {
    a.health().quota().update("0", "1s", null, null, 0, 0);
    assertThat(pickAndReturn(List.of()).deployment()).isSameAs(b);
    clock.advance(Duration.ofSeconds(1));
    assertThat(pickAndReturn(List.of()).deployment()).isSameAs(a);
  }

  @Test
  void skipsAnOpenBreakerUnlessNothingElseIsLeft() {
    openBreaker(a);
    Picker.Pick p = pickAndReturn(List.of());
    assertThat(p.deployment()).isSameAs(b);
    assertThat(p.permit()).isTrue();
    openBreaker(b);
    openBreaker(c);
    p = pickAndReturn(List.of());
    assertThat(p.deployment()).isSameAs(a);
    assertThat(p.permit()).isFalse();
    assertThat(a.limiter().inFlight() + b.limiter().inFlight() + c.limiter().inFlight()).isZero();
  }

  @Test
  void anOpenBreakerGetsItsProbeOnceOpenForHasPassed() {
    openBreaker(a);
    assertThat(pickAndReturn(List.of()).deployment()).isSameAs(b);
    clock.advance(Duration.ofSeconds(6));
    Picker.Pick probe = picker.next(List.of());
    assertThat(probe.deployment()).as("a half-open probe goes to the deployment that was open").isSameAs(a);
    assertThat(probe.permit()).isTrue();
    assertThat(a.health().breakerState()).isEqualTo("half_open");
    // its only probe is out: the next request goes elsewhere, with a permit
    Picker.Pick next = new Picker(ds.inOrder("m")).next(List.of());
    assertThat(next.deployment()).isSameAs(b);
    assertThat(next.permit()).isTrue();
    assertThat(a.limiter().inFlight()).as("the refused half-open deployment kept no slot").isEqualTo(1);
    a.health().onSuccess(1_000_000, true);
    assertThat(a.health().breakerState()).isEqualTo("closed");
  }
}
