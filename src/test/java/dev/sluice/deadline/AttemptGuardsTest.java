package dev.sluice.deadline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Timeouts;
import dev.sluice.testing.FakeClock;
import dev.sluice.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The guards of one attempt against a fake clock: every guard fires exactly at its limit, never a
 * nanosecond early, and only when no outer timer (attempt total, request deadline) would fire first.
 */
class AttemptGuardsTest {
  private static final long MS = 1_000_000L;

  /** connect 1 s, first byte 2 s, first token 3 s, idle 500 ms, total 10 s, stream total 20 s. */
  static final Timeouts T = new Timeouts(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(3),
      Duration.ofMillis(500), Duration.ofSeconds(10), Duration.ofSeconds(20));

  record Fired(Guard guard, long limitNanos, long atNanos) {}

  FakeClock clock;
  CountingScheduler scheduler;
  List<Fired> fired;
  long t0;

  @BeforeEach
  void setUp() {
    clock = new FakeClock();
    scheduler = new CountingScheduler(new ManualScheduler(clock));
    fired = new ArrayList<>();
    t0 = clock.getAsLong();
  }

  AttemptGuards guards(Timeouts t, Deadline d, boolean stream) {
    return new AttemptGuards(scheduler, t, d, stream,
        (g, limit) -> fired.add(new Fired(g, limit, clock.getAsLong())));
  }

  AttemptGuards guards(boolean stream) {
    return guards(T, Deadline.none(clock, t0), stream);
  }

  Deadline deadlineIn(Duration d) {
    return Deadline.after(clock, t0, d.toNanos(), Deadline.Source.CLIENT_HEADER);
  }

  /** Moves the clock to {@code ms} after the attempt's start (t0). */
  void at(long ms) {
    long target = t0 + ms * MS;
    assertThat(target).as("tests only move forward").isGreaterThanOrEqualTo(clock.getAsLong());
    scheduler.advance(Duration.ofNanos(target - clock.getAsLong()));
  }

  void advanceNanos(long n) {
    scheduler.advance(Duration.ofNanos(n));
  }

  long elapsedMs(Fired f) {
    return (f.atNanos() - t0) / MS;
  }

  void assertFiredOnce(Guard guard, Duration limit, long atMsAfterStart) {
    assertThat(fired).as("guards fired").hasSize(1);
    Fired f = fired.get(0);
    assertThat(f.guard()).isEqualTo(guard);
    assertThat(f.limitNanos()).isEqualTo(limit.toNanos());
    assertThat(f.atNanos() - t0).as("fired at").isEqualTo(atMsAfterStart * MS);
  }

  void assertAllDisarmed(AttemptGuards g) {
    assertThat(g.armed()).as("guards think they are armed").isFalse();
    assertThat(scheduler.armed()).as("timers left in the scheduler").isZero();
  }

  /** Lets a long stretch of time pass and checks that nothing (more) fires. */
  void assertNothingMoreFires() {
    int before = fired.size();
    scheduler.advance(Duration.ofMinutes(10));
    assertThat(fired).hasSize(before);
  }

  // ---------------------------------------------------------------- each guard at its limit

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void connectFiresExactlyAtItsLimit(boolean stream) {
    AttemptGuards g = guards(stream);
    g.start();
    assertThat(g.phase()).isEqualTo(Guard.CONNECT);
    advanceNanos(T.connect().toNanos() - 1);
    assertThat(fired).isEmpty();
    advanceNanos(1);
    assertFiredOnce(Guard.CONNECT, T.connect(), 1000);
    assertAllDisarmed(g);
    assertNothingMoreFires();
  }

  @Test
  void firstByteOfNonStreamIsMeasuredFromTheAttemptsStartNotFromConnecting() {
    AttemptGuards g = guards(false);
    g.start();
    at(700);
    g.connected();
    assertThat(g.phase()).isEqualTo(Guard.FIRST_BYTE);
    advanceNanos(T.firstByte().toNanos() - 700 * MS - 1);
    assertThat(fired).isEmpty();
    advanceNanos(1);
    assertFiredOnce(Guard.FIRST_BYTE, T.firstByte(), 2000);
    assertAllDisarmed(g);
  }

  @Test
  void firstTokenOfStreamIsMeasuredFromTheAttemptsStartAndHeadersDoNotStopIt() {
    AttemptGuards g = guards(true);
    g.start();
    at(700);
    g.connected();
    assertThat(g.phase()).isEqualTo(Guard.FIRST_TOKEN);
    at(900);
    g.headers(); // a stream's headers (and its role-only chunk) are not a token
    g.activity();
    assertThat(g.phase()).isEqualTo(Guard.FIRST_TOKEN);
    at(2999);
    advanceNanos(999_999);
    assertThat(fired).isEmpty();
    advanceNanos(1);
    assertFiredOnce(Guard.FIRST_TOKEN, T.firstToken(), 3000);
    assertAllDisarmed(g);
  }

  @Test
  void headersEndTheFirstByteGuardOfANonStreamAndTheBodyIsThenGuardedByIdle() {
    AttemptGuards g = guards(false);
    g.start();
    at(100);
    g.connected();
    at(1900);
    g.headers();
    assertThat(g.phase()).isEqualTo(Guard.IDLE);
    at(2300);
    g.activity();
    at(2799);
    assertThat(fired).as("first byte must not fire once headers arrived").isEmpty();
    at(2800);
    assertFiredOnce(Guard.IDLE, T.idle(), 2800);
    assertAllDisarmed(g);
  }

  @Test
  void firstTokenEndsTheFirstTokenGuard() {
    AttemptGuards g = guards(true);
    g.start();
    at(100);
    g.connected();
    at(2900);
    g.firstToken();
    assertThat(g.phase()).isEqualTo(Guard.IDLE);
    for (long t = 3000; t <= 6000; t += 100) {
      at(t);
      g.activity();
    }
    assertThat(fired).isEmpty();
    at(6500);
    assertFiredOnce(Guard.IDLE, T.idle(), 6500);
  }

  /**
   * Caffeine-style: a scripted sequence of chunk arrivals (ms after the first token, which arrives
   * at 1000 ms) and the instant the idle guard must fire: 500 ms after the last chunk, never before.
   */
  @ParameterizedTest(name = "chunks at {0} -> idle fires at {1} ms")
  @CsvSource(delimiter = ';', value = {
      "'';                          1500",
      "1499;                        1999",
      "1100 1200 1300;              1800",
      "1499 1998;                   2498",
      "1000;                        1500",
      "1250 1749 2248 2747 3246;    3746", // gaps just under the limit never fire
      "1001 1002 1003 1004 1005;    1505",
  })
  void idleIsMeasuredFromTheLastChunk(String chunks, long expectedMs) {
    AttemptGuards g = guards(true);
    g.start();
    at(200);
    g.connected();
    at(1000);
    g.firstToken();
    long[] times = chunks.isBlank() ? new long[0]
        : Arrays.stream(chunks.trim().split("\\s+")).mapToLong(Long::parseLong).toArray();
    for (long t : times) {
      at(t);
      if (!fired.isEmpty()) {
        break;
      }
      g.activity();
    }
    at(expectedMs - 1);
    advanceNanos(MS - 1);
    assertThat(fired).as("idle must not fire before %d ms", expectedMs).isEmpty();
    advanceNanos(1);
    assertFiredOnce(Guard.IDLE, T.idle(), expectedMs);
    assertAllDisarmed(g);
  }

  @Test
  void idleReArmsLazilyOneTimerPerWindowNotOnePerChunk() {
    AttemptGuards g = guards(true);
    g.start();
    g.connected();
    at(100);
    g.firstToken();
    int scheduledAfterFirstToken = scheduler.scheduled;
    // 4000 chunks, one per millisecond, for four seconds
    for (long t = 101; t <= 4100; t++) {
      at(t);
      g.activity();
      assertThat(scheduler.armed()).as("one timer for idle and total").isEqualTo(1);
    }
    int reArms = scheduler.scheduled - scheduledAfterFirstToken;
    assertThat(reArms).as("timers scheduled for 4000 chunks over 8 idle windows").isBetween(7, 9);
    assertThat(fired).isEmpty();
    at(4600);
    assertFiredOnce(Guard.IDLE, T.idle(), 4600);
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void withTheDefaultTimeoutsAFastAttemptArmsOneTimerForAllFourGuards(boolean stream) {
    // connect 5 s is due first and stays armed: first byte / token, idle and total are all due later
    AttemptGuards g = guards(Timeouts.DEFAULTS, Deadline.none(clock, t0), stream);
    g.start();
    at(5);
    g.connected();
    at(10);
    g.headers();
    g.firstToken();
    g.activity();
    at(20);
    g.activity();
    assertThat(scheduler.armed()).as("one timer guards the phase and the total").isEqualTo(1);
    g.stop();
    assertThat(scheduler.scheduled).as("timers ever scheduled").isEqualTo(1);
    assertAllDisarmed(g);
  }

  @Test
  void aTimerSetForALaterGuardIsMovedWhenAnEarlierOneBecomesDue() {
    // connect (1 s) is armed; the first token at 100 ms makes idle due at 600 ms, before it
    AttemptGuards g = guards(true);
    g.start();
    g.connected();
    at(100);
    g.firstToken();
    assertThat(scheduler.armed()).isEqualTo(1);
    at(599);
    advanceNanos(MS - 1);
    assertThat(fired).isEmpty();
    advanceNanos(1);
    assertFiredOnce(Guard.IDLE, T.idle(), 600);
    assertAllDisarmed(g);
  }

  @ParameterizedTest(name = "stream={0}")
  @ValueSource(booleans = {false, true})
  void totalFiresAtItsLimitEvenWhileChunksKeepComing(boolean stream) {
    Duration total = T.totalFor(stream);
    AttemptGuards g = guards(stream);
    g.start();
    at(10);
    g.connected();
    at(20);
    g.headers();
    g.firstToken();
    long totalMs = total.toMillis();
    for (long t = 100; t < totalMs; t += 100) {
      at(t);
      g.activity();
    }
    at(totalMs - 1);
    advanceNanos(MS - 1);
    assertThat(fired).isEmpty();
    advanceNanos(1);
    assertFiredOnce(Guard.TOTAL, total, totalMs);
    assertAllDisarmed(g);
  }

  @Test
  void totalFiresWhileStillConnectingWhenItIsTheShortestGuard() {
    Timeouts t = T.withConnect(Duration.ofSeconds(5)).withFirstByte(Duration.ofSeconds(5)).withTotal(Duration.ofSeconds(2));
    AttemptGuards g = guards(t, Deadline.none(clock, t0), false);
    g.start();
    assertThat(scheduler.armed()).as("only the total: connect would fire after it").isEqualTo(1);
    at(2000);
    assertFiredOnce(Guard.TOTAL, Duration.ofSeconds(2), 2000);
    assertAllDisarmed(g);
  }

  @Test
  void aPhaseGuardThatCoincidesWithTheTotalIsNotArmedAndTheTotalNamesTheCause() {
    Timeouts t = T.withFirstByte(Duration.ofSeconds(3)).withTotal(Duration.ofSeconds(3));
    AttemptGuards g = guards(t, Deadline.none(clock, t0), false);
    g.start();
    g.connected();
    assertThat(scheduler.armed()).as("total only").isEqualTo(1);
    at(3000);
    assertFiredOnce(Guard.TOTAL, Duration.ofSeconds(3), 3000);
  }

  // ---------------------------------------------------------------- pause and resume of idle

  @Test
  void pausedIdleDoesNotFireWhileTheClientIsSlowAndCountsAgainFromResume() {
    AttemptGuards g = guards(true);
    g.start();
    g.connected();
    at(100);
    g.firstToken();
    at(300);
    g.activity();
    g.pauseIdle();
    at(19_000); // far beyond idle, not beyond stream total
    assertThat(fired).as("a paused idle guard must not fire").isEmpty();
    assertThat(scheduler.armed()).as("paused: still guarded by total").isEqualTo(1);
    at(19_200);
    g.resumeIdle();
    at(19_699);
    advanceNanos(MS - 1);
    assertThat(fired).isEmpty();
    advanceNanos(1);
    assertFiredOnce(Guard.IDLE, T.idle(), 19_700);
    assertAllDisarmed(g);
  }

  @Test
  void aChunkAfterResumeMovesIdleOnAgain() {
    AttemptGuards g = guards(true);
    g.start();
    g.connected();
    at(100);
    g.firstToken();
    g.pauseIdle();
    at(1234);
    g.resumeIdle();
    at(1600);
    g.activity();
    at(2099);
    assertThat(fired).isEmpty();
    at(2100);
    assertFiredOnce(Guard.IDLE, T.idle(), 2100);
  }

  @Test
  void pauseDoesNotStopTheTotal() {
    AttemptGuards g = guards(true);
    g.start();
    g.connected();
    at(100);
    g.firstToken();
    g.pauseIdle();
    at(20_000);
    assertFiredOnce(Guard.TOTAL, T.streamTotal(), 20_000);
    assertAllDisarmed(g);
  }

  // ---------------------------------------------------------------- the request deadline wins

  /** Drives an attempt to the phase whose guard is under test and returns its limit from t0. */
  enum Phase {
    CONNECT(false, 1000), FIRST_BYTE(false, 2000), FIRST_TOKEN(true, 3000), IDLE(true, 1100), TOTAL(false, 10_000);

    final boolean stream;
    final long firesAtMs;

    Phase(boolean stream, long firesAtMs) {
      this.stream = stream;
      this.firesAtMs = firesAtMs;
    }

    void drive(AttemptGuards g, AttemptGuardsTest test) {
      g.start();
      switch (this) {
        case CONNECT -> { }
        case FIRST_BYTE, FIRST_TOKEN -> g.connected();
        case IDLE -> {
          g.connected();
          test.at(600);
          g.firstToken();
        }
        case TOTAL -> {
          g.connected();
          g.headers(); // idle from here on; keep it fed below
        }
      }
    }

    Guard guard() {
      return Guard.valueOf(name());
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Phase.class)
  void aGuardDueAtTheDeadlineIsNotArmedAndNeverFires(Phase p) {
    AttemptGuards g = guards(T, deadlineIn(Duration.ofMillis(p.firesAtMs)), p.stream);
    p.drive(g, this);
    keepFed(g, p, p.firesAtMs + 5000);
    assertThat(fired).as("the request's own deadline timer (not the guard's) must end it").isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Phase.class)
  void aGuardDueJustBeforeTheDeadlineFires(Phase p) {
    AttemptGuards g = guards(T, Deadline.after(clock, t0, p.firesAtMs * MS + 1, Deadline.Source.TIER), p.stream);
    p.drive(g, this);
    keepFed(g, p, p.firesAtMs + 5000);
    assertThat(fired).hasSize(1);
    assertThat(fired.get(0).guard()).isEqualTo(p.guard());
    assertThat(elapsedMs(fired.get(0))).isEqualTo(p.firesAtMs);
  }

  /** Moves time to {@code untilMs}, feeding chunks every 100 ms when the guard under test is the total. */
  private void keepFed(AttemptGuards g, Phase p, long untilMs) {
    if (p == Phase.TOTAL) {
      for (long t = 100; t <= untilMs; t += 100) {
        at(t);
        g.activity();
      }
    } else {
      at(untilMs);
    }
  }

  @Test
  void withADeadlineShorterThanEveryGuardNothingIsArmedAtAll() {
    AttemptGuards g = guards(T, deadlineIn(Duration.ofMillis(300)), true);
    g.start();
    g.connected();
    at(100);
    g.firstToken();
    g.activity();
    assertThat(scheduler.armed()).isZero();
    assertThat(scheduler.scheduled).as("no timer was ever scheduled").isZero();
    at(60_000);
    assertThat(fired).isEmpty();
  }

  @Test
  void anAttemptStartedAfterTheDeadlineArmsNothing() {
    Deadline d = deadlineIn(Duration.ofMillis(50));
    at(80);
    AttemptGuards g = new AttemptGuards(scheduler, T, d, false, (gd, l) -> fired.add(new Fired(gd, l, 0)));
    g.start();
    g.connected();
    assertThat(scheduler.armed()).isZero();
    assertNothingMoreFires();
  }

  @Test
  void theIdleReArmStopsAtTheDeadline() {
    // idle would be re-armed for lastChunk + 500 ms = 1900 ms, past the deadline at 1800 ms
    AttemptGuards g = guards(T, deadlineIn(Duration.ofMillis(1800)), true);
    g.start();
    g.connected();
    at(1000);
    g.firstToken();
    at(1400);
    g.activity();
    at(1500); // the idle timer armed at first token runs, finds a later chunk, must not re-arm past the deadline
    assertThat(scheduler.armed()).isZero();
    at(5000);
    assertThat(fired).isEmpty();
  }

  @Test
  void theTotalIsNotArmedWhenTheDeadlineComesFirst() {
    AttemptGuards g = guards(T, deadlineIn(Duration.ofSeconds(5)), false);
    g.start();
    assertThat(scheduler.armed()).as("connect only").isEqualTo(1);
    g.connected();
    g.headers();
    for (long t = 100; t <= 8000; t += 100) {
      at(t);
      g.activity();
    }
    assertThat(fired).isEmpty();
  }

  // ---------------------------------------------------------------- stop on every path

  static Stream<Arguments> paths() {
    return Stream.of(
        Arguments.of("right after start", false, (Consumer<Ctx>) c -> { }),
        Arguments.of("connected (non-stream)", false, (Consumer<Ctx>) c -> c.g.connected()),
        Arguments.of("headers (non-stream)", false, (Consumer<Ctx>) c -> {
          c.g.connected();
          c.g.headers();
        }),
        Arguments.of("first token (stream)", true, (Consumer<Ctx>) c -> {
          c.g.connected();
          c.g.firstToken();
        }),
        Arguments.of("during a lazy re-arm", true, (Consumer<Ctx>) c -> {
          c.g.connected();
          c.g.firstToken();
          c.test.at(400);
          c.g.activity();
          c.test.at(600); // the first idle timer ran and re-armed for 900 ms
        }),
        Arguments.of("while paused", true, (Consumer<Ctx>) c -> {
          c.g.connected();
          c.g.firstToken();
          c.g.pauseIdle();
          c.test.at(2000);
        }),
        Arguments.of("after resume", true, (Consumer<Ctx>) c -> {
          c.g.connected();
          c.g.firstToken();
          c.g.pauseIdle();
          c.test.at(2000);
          c.g.resumeIdle();
        }),
        Arguments.of("after a guard fired", false, (Consumer<Ctx>) c -> c.test.at(1000)),
        Arguments.of("stopped twice", false, (Consumer<Ctx>) c -> c.g.stop()));
  }

  record Ctx(AttemptGuards g, AttemptGuardsTest test) {}

  @ParameterizedTest(name = "{0}")
  @MethodSource("paths")
  void stopDisarmsEverything(String name, boolean stream, Consumer<Ctx> path) {
    AttemptGuards g = guards(stream);
    g.start();
    path.accept(new Ctx(g, this));
    int firedBefore = fired.size();
    g.stop();
    assertAllDisarmed(g);
    // nothing the attempt says afterwards may arm a timer again
    g.connected();
    g.headers();
    g.firstToken();
    g.activity();
    g.pauseIdle();
    g.resumeIdle();
    assertAllDisarmed(g);
    scheduler.advance(Duration.ofMinutes(10));
    assertThat(fired).hasSize(firedBefore);
  }

  @Test
  void stopBeforeStartIsHarmless() {
    AttemptGuards g = guards(false);
    g.stop();
    assertAllDisarmed(g);
  }

  // ---------------------------------------------------------------- the listener is told once

  @Test
  void theListenerIsCalledAtMostOnceEvenWhenItCallsBack() {
    List<Guard> calls = new ArrayList<>();
    AttemptGuards[] holder = new AttemptGuards[1];
    AttemptGuards g = new AttemptGuards(scheduler, T, Deadline.none(clock, t0), true, (guard, limit) -> {
      calls.add(guard);
      // an attempt reacting to a timeout tends to poke its guards again
      holder[0].stop();
      holder[0].connected();
      holder[0].firstToken();
      holder[0].resumeIdle();
    });
    holder[0] = g;
    g.start();
    g.connected();
    at(100);
    g.firstToken();
    at(600);
    assertThat(calls).containsExactly(Guard.IDLE);
    assertAllDisarmed(g);
    scheduler.advance(Duration.ofMinutes(10));
    assertThat(calls).containsExactly(Guard.IDLE);
  }

  @Test
  void whenTotalFiresThePhaseGuardDueAtTheSameInstantDoesNot() {
    // idle is armed for 1000 ms + 500 ms; total is 1500 ms: the idle guard is not armed (total is the outer guard)
    Timeouts t = T.withStreamTotal(Duration.ofMillis(1500)).withFirstToken(Duration.ofMillis(1400))
        .withConnect(Duration.ofMillis(500));
    AttemptGuards g = guards(t, Deadline.none(clock, t0), true);
    g.start();
    g.connected();
    at(1000);
    g.firstToken();
    at(1500);
    assertFiredOnce(Guard.TOTAL, Duration.ofMillis(1500), 1500);
    assertNothingMoreFires();
  }

  @Test
  void aConnectGuardThatFiredCannotBeFollowedByAnotherGuard() {
    AttemptGuards g = guards(false);
    g.start();
    at(1000);
    assertThat(fired).extracting(Fired::guard).containsExactly(Guard.CONNECT);
    g.connected(); // a late connection completes after the guard fired
    g.headers();
    assertAllDisarmed(g);
    assertNothingMoreFires();
  }

  /** Counts how many timers were ever scheduled, to prove the idle guard's lazy re-arm. */
  static final class CountingScheduler implements Scheduler {
    final ManualScheduler delegate;
    int scheduled;

    CountingScheduler(ManualScheduler delegate) {
      this.delegate = delegate;
    }

    @Override
    public long schedule(long delayNanos, Runnable task) {
      scheduled++;
      return delegate.schedule(delayNanos, task);
    }

    @Override
    public boolean cancel(long handle) {
      return delegate.cancel(handle);
    }

    void advance(Duration d) {
      delegate.advance(d);
    }

    int armed() {
      return delegate.armed();
    }
  }
}
