package dev.sluice.provider;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Upstream connections open now, per provider, over every event loop's pool. A pool keeps its
 * connections after their requests end (keep-alive), so this is not zero at rest: it shows how
 * large the pools have grown since the last minute's idle connections were closed.
 */
public final class UpstreamConnections {
  private final ConcurrentHashMap<String, LongAdder> open = new ConcurrentHashMap<>();

  void opened(String provider) {
    counter(provider).increment();
  }

  void closed(String provider) {
    counter(provider).decrement();
  }

  public long open(String provider) {
    LongAdder a = open.get(provider);
    return a == null ? 0 : a.sum();
  }

  private LongAdder counter(String provider) {
    return open.computeIfAbsent(provider, p -> new LongAdder());
  }
}
