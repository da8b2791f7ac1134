package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ScheduleTest {
  private static final long S = 1_000_000_000L;

  @Test
  void requestsAreEvenlySpacedFromTheStart() {
    Schedule s = new Schedule(200, 0, S);
    assertThat(s.offsetNanos(0)).isZero();
    assertThat(s.offsetNanos(1)).isEqualTo(5_000_000L);
    assertThat(s.offsetNanos(199)).isEqualTo(995_000_000L);
    assertThat(s.total()).isEqualTo(200);
    assertThat(s.measured()).isEqualTo(200);
  }

  @Test
  void everyRequestIsDueInsideTheSpanAndNoneIsMissing() {
    for (double rate : new double[] {1, 3, 7.5, 200, 333.3, 1000, 12345}) {
      for (long span : new long[] {S / 3, S, 2 * S + 1, 7 * S}) {
        Schedule s = new Schedule(rate, 0, span);
        assertThat(s.offsetNanos(s.total() - 1)).as("rate %s span %s", rate, span).isLessThan(span);
        assertThat(s.offsetNanos(s.total())).as("rate %s span %s", rate, span).isGreaterThanOrEqualTo(span);
      }
    }
  }

  @Test
  void warmupComesFirstAndIsNotMeasured() {
    Schedule s = new Schedule(100, 2 * S, 3 * S);
    assertThat(s.total()).isEqualTo(500);
    assertThat(s.warmupCount()).isEqualTo(200);
    assertThat(s.measured()).isEqualTo(300);
    assertThat(s.isWarmup(199)).isTrue();
    assertThat(s.isWarmup(200)).isFalse();
    assertThat(s.offsetNanos(200)).isEqualTo(2 * S);
    assertThat(s.spanNanos()).isEqualTo(5 * S);
  }

  @Test
  void fractionalRatesKeepTheirAverage() {
    Schedule s = new Schedule(0.5, 0, 10 * S);
    assertThat(s.total()).isEqualTo(5);
    assertThat(s.offsetNanos(4)).isEqualTo(8 * S);
  }

  @Test
  void offsetsDoNotDriftOverLongRuns() {
    Schedule s = new Schedule(3, 0, 3600 * S);
    // rounded from the start each time, never accumulated: no drift after 10,800 requests
    assertThat(s.offsetNanos(10_799)).isEqualTo(Math.round(10_799 * 1e9 / 3));
    assertThat(s.total()).isEqualTo(10_800);
  }

  @Test
  void rejectsAZeroRate() {
    assertThatThrownBy(() -> new Schedule(0, 0, S)).isInstanceOf(IllegalArgumentException.class);
  }
}
