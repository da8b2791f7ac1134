package dev.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The guard trips at the high mark and clears only under the low mark (hysteresis). */
class MemoryGuardTest {
  private double heap;
  private final MemoryGuard guard = new MemoryGuard(0.85, 0.75, () -> heap);

  private boolean at(double use) {
    heap = use;
    guard.check();
    return guard.refusing();
  }

  @Test
  void tripsAtHighAndStaysTrippedUntilBelowLow() {
    assertThat(guard.refusing()).as("admits before the first reading").isFalse();
    assertThat(at(0.50)).isFalse();
    assertThat(at(0.84)).isFalse();
    assertThat(at(0.85)).as("at the high mark").isTrue();
    assertThat(guard.lastReading()).isEqualTo(0.85);
    assertThat(at(0.95)).isTrue();
    assertThat(at(0.80)).as("between the marks: still refusing").isTrue();
    assertThat(at(0.75)).as("at the low mark: still refusing").isTrue();
    assertThat(at(0.7499)).as("under the low mark").isFalse();
    assertThat(at(0.80)).as("between the marks again: still admitting").isFalse();
    assertThat(at(0.849)).isFalse();
    assertThat(at(0.90)).isTrue();
    assertThat(at(0.10)).isFalse();
  }

  @Test
  void doesNotFlapAroundOneMark() {
    int changes = 0;
    boolean before = guard.refusing();
    for (int i = 0; i < 1000; i++) {
      boolean now = at(i % 2 == 0 ? 0.86 : 0.84);
      if (now != before) {
        changes++;
      }
      before = now;
    }
    assertThat(changes).isEqualTo(1);
  }

  @Test
  void theRealHeapReadingIsAShare() {
    double share = MemoryGuard.heapShareAfterGc();
    assertThat(share).isBetween(0.0, 1.0);
    MemoryGuard real = MemoryGuard.forHeap(0.99, 0.98);
    real.check();
    assertThat(real.refusing()).isFalse();
  }
}
