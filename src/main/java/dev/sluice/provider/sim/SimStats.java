package dev.sluice.provider.sim;

import io.vertx.core.json.JsonObject;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the simulator saw, so that tests can check from the provider's side that the gateway did
 * what it claims: how many requests arrived, and how many exchanges the caller abandoned.
 */
public final class SimStats {
  private final LongAdder requests = new LongAdder();
  private final LongAdder streamsStarted = new LongAdder();
  private final LongAdder streamsCompleted = new LongAdder();
  private final LongAdder abortedByCaller = new LongAdder();
  private final LongAdder hangs = new LongAdder();
  private final LongAdder resets = new LongAdder();
  private final AtomicLong open = new AtomicLong();
  private final ConcurrentHashMap<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, LongAdder> byModel = new ConcurrentHashMap<>();

  void request(String model) {
    requests.increment();
    byModel.computeIfAbsent(model, k -> new LongAdder()).increment();
    open.incrementAndGet();
  }

  void countStatus(int status) {
    statuses.computeIfAbsent(status, k -> new LongAdder()).increment();
  }

  void streamStarted() {
    streamsStarted.increment();
  }

  void streamCompleted() {
    streamsCompleted.increment();
  }

  void hang() {
    hangs.increment();
  }

  void reset() {
    resets.increment();
  }

  /** The caller closed the connection before the simulator finished answering. */
  void aborted() {
    abortedByCaller.increment();
  }

  void closed() {
    open.decrementAndGet();
  }

  public long requests() {
    return requests.sum();
  }

  public long requests(String model) {
    LongAdder a = byModel.get(model);
    return a == null ? 0 : a.sum();
  }

  public long streamsStarted() {
    return streamsStarted.sum();
  }

  public long streamsCompleted() {
    return streamsCompleted.sum();
  }

  public long abortedByCaller() {
    return abortedByCaller.sum();
  }

  public long hangs() {
    return hangs.sum();
  }

  public long resets() {
    return resets.sum();
  }

  /** Exchanges not yet finished or abandoned. */
  public long open() {
    return open.get();
  }

  public long status(int status) {
    LongAdder a = statuses.get(status);
    return a == null ? 0 : a.sum();
  }

  public JsonObject toJson() {
    JsonObject s = new JsonObject();
    statuses.forEach((k, v) -> s.put(String.valueOf(k), v.sum()));
    JsonObject m = new JsonObject();
    byModel.forEach((k, v) -> m.put(k, v.sum()));
    return new JsonObject()
        .put("requests", requests())
        .put("open", open())
        .put("streams_started", streamsStarted())
        .put("streams_completed", streamsCompleted())
        .put("aborted_by_caller", abortedByCaller())
        .put("hangs", hangs())
        .put("resets", resets())
        .put("statuses", s)
        .put("models", m);
  }
}
