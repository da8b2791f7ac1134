package dev.sluice.telemetry;

import io.vertx.core.json.JsonObject;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts everything a request holds while it runs: the request itself, its attempts, open
 * upstream exchanges and armed timers. Each is taken and given back exactly once, so at rest all
 * counters read zero; tests assert exactly that after fault and chaos runs.
 */
public final class Ledger {
  private final LongAdder requests = new LongAdder();
  private final LongAdder attempts = new LongAdder();
  private final LongAdder upstreams = new LongAdder();
  private final LongAdder timers = new LongAdder();
  private final LongAdder permits = new LongAdder();
  private final LongAdder slots = new LongAdder();
  private final LongAdder queued = new LongAdder();

  public void requestOpened() {
    requests.increment();
  }

  public void requestClosed() {
    requests.decrement();
  }

  public void attemptOpened() {
    attempts.increment();
  }

  public void attemptClosed() {
    attempts.decrement();
  }

  public void upstreamOpened() {
    upstreams.increment();
  }

  public void upstreamClosed() {
    upstreams.decrement();
  }

  /** A breaker permit was taken for an attempt. */
  public void permitTaken() {
    permits.increment();
  }

  /** A breaker permit was given back (recorded as success/failure or released). */
  public void permitReturned() {
    permits.decrement();
  }

  public long permitsHeld() {
    return permits.sum();
  }

  /** A deployment concurrency slot was taken for an attempt. */
  public void slotTaken() {
    slots.increment();
  }

  public void slotReturned() {
    slots.decrement();
  }

  public long slotsHeld() {
    return slots.sum();
  }

  public void enqueued() {
    queued.increment();
  }

  public void dequeued() {
    queued.decrement();
  }

  public long queued() {
    return queued.sum();
  }

  /** The counter the event-loop scheduler keeps of armed timers. */
  public LongAdder timers() {
    return timers;
  }

  public long requestsInFlight() {
    return requests.sum();
  }

  public long attemptsInFlight() {
    return attempts.sum();
  }

  public long upstreamsOpen() {
    return upstreams.sum();
  }

  public long timersArmed() {
    return timers.sum();
  }

  public boolean atRest() {
    return requestsInFlight() == 0 && attemptsInFlight() == 0 && upstreamsOpen() == 0 && timersArmed() == 0
        && permitsHeld() == 0 && slotsHeld() == 0 && queued() == 0;
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("requests_in_flight", requestsInFlight())
        .put("attempts_in_flight", attemptsInFlight())
        .put("upstream_exchanges_open", upstreamsOpen())
        .put("timers_armed", timersArmed())
        .put("breaker_permits_held", permitsHeld())
        .put("concurrency_slots_held", slotsHeld())
        .put("queued", queued());
  }

  @Override
  public String toString() {
    return toJson().encode();
  }
}
