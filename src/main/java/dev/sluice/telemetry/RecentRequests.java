package dev.sluice.telemetry;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Keeps counts by outcome and the latest records in a fixed ring, in memory. Cheap enough for the
 * hot path: one array store and one counter increment per request.
 */
public final class RecentRequests implements Recorder {
  private final RequestRecord[] ring;
  private final EnumMap<Outcome, LongAdder> counts = new EnumMap<>(Outcome.class);
  private long next;

  public RecentRequests(int capacity) {
    this.ring = new RequestRecord[capacity];
    for (Outcome o : Outcome.values()) {
      counts.put(o, new LongAdder());
    }
  }

  @Override
  public void record(RequestRecord r) {
    counts.get(r.outcome()).increment();
    synchronized (ring) {
      ring[(int) (next++ % ring.length)] = r;
    }
  }

  public long count(Outcome o) {
    return counts.get(o).sum();
  }

  public Map<Outcome, Long> counts() {
    Map<Outcome, Long> m = new EnumMap<>(Outcome.class);
    counts.forEach((k, v) -> m.put(k, v.sum()));
    return m;
  }

  /** The latest records, newest first. */
  public List<RequestRecord> latest(int n) {
    List<RequestRecord> out = new ArrayList<>(n);
    synchronized (ring) {
      for (long i = next - 1; i >= 0 && i >= next - ring.length && out.size() < n; i--) {
        out.add(ring[(int) (i % ring.length)]);
      }
    }
    return out;
  }
}
