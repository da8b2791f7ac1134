package dev.sluice.admission;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.List;
import java.util.function.DoubleSupplier;

/**
 * Refuses new work when the heap is nearly full after garbage collection, and admits it again only
 * once use has fallen under a lower mark (hysteresis, so it does not flap). Use "after GC" is what
 * stays when collection is done: a full heap before a collection is normal.
 */
public final class MemoryGuard {
  private final double high;
  private final double low;
  private final DoubleSupplier usedAfterGc;
  private volatile boolean tripped;
  private volatile double last;

  public MemoryGuard(double high, double low, DoubleSupplier usedAfterGc) {
    this.high = high;
    this.low = low;
    this.usedAfterGc = usedAfterGc;
  }

  public static MemoryGuard forHeap(double high, double low) {
    return new MemoryGuard(high, low, MemoryGuard::heapShareAfterGc);
  }

  /** Re-reads the heap; called periodically. */
  public void check() {
    double u = usedAfterGc.getAsDouble();
    last = u;
    if (!tripped && u >= high) {
      tripped = true;
    } else if (tripped && u < low) {
      tripped = false;
    }
  }

  public boolean refusing() {
    return tripped;
  }

  public double lastReading() {
    return last;
  }

  /** Old generation used after the last collection, as a share of its maximum (the whole heap when unknown). */
  static double heapShareAfterGc() {
    List<MemoryPoolMXBean> pools = ManagementFactory.getMemoryPoolMXBeans();
    double best = -1;
    for (MemoryPoolMXBean p : pools) {
      if (p.getType() != MemoryType.HEAP || !p.isCollectionUsageThresholdSupported()) {
        continue;
      }
      String n = p.getName().toLowerCase(java.util.Locale.ROOT);
      if (!(n.contains("old") || n.contains("tenured") || n.contains("zgc") || n.contains("shenandoah"))) {
        continue;
      }
      MemoryUsage u = p.getCollectionUsage();
      if (u != null && u.getMax() > 0) {
        best = Math.max(best, (double) u.getUsed() / u.getMax());
      }
    }
    if (best >= 0) {
      return best;
    }
    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    return heap.getMax() > 0 ? (double) heap.getUsed() / heap.getMax() : 0;
  }
}
