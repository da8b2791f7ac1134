package dev.sluice.resilience;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The executions running now, and the requests whose bodies are still being read, on every event
 * loop, so that a gateway that stops after its drain period can end each one as the design says a
 * failed request ends (a status before the commit point, the final error event after it) instead of
 * cutting its connection.
 *
 * <p>Each event loop keeps its own list ({@link Loop}), touched only from that loop: linking an
 * execution in and out costs a few field writes per request, with no lock, no allocation and no
 * cache line shared between loops. Only stopping, which is rare, crosses threads.
 */
public final class Running {
  private final List<Loop> loops = new CopyOnWriteArrayList<>();

  /** The list for the event loop this is called on (once per loop, when its server starts). */
  public Loop forThisLoop() {
    Loop l = new Loop(Vertx.currentContext());
    loops.add(l);
    return l;
  }

  /**
   * Ends every execution still running, each on its own event loop, and waits up to {@code
   * waitSeconds} for the loops to have done so; returns how many were ended.
   */
  public int endAll(long waitSeconds) {
    List<CompletableFuture<Integer>> done = new ArrayList<>();
    for (Loop l : loops) {
      CompletableFuture<Integer> f = new CompletableFuture<>();
      if (l.context == null) {
        f.complete(l.endAll());
      } else {
        l.context.runOnContext(v -> f.complete(l.endAll()));
      }
      done.add(f);
    }
    int n = 0;
    for (CompletableFuture<Integer> f : done) {
      try {
        n += f.get(waitSeconds, TimeUnit.SECONDS);
      } catch (Exception e) {
        // a loop that does not answer in time is closed with the servers next
      }
    }
    return n;
  }

  /**
   * What a loop's list holds: an execution, or a request still at the gateway's edge (its body
   * being read), which a stop must end too rather than leave for the servers to cut. The links
   * live in the member itself, so linking in and out allocates nothing.
   */
  public abstract static class Member {
    Member runPrev;
    Member runNext;
    boolean listed;

    /**
     * On the member's event loop: the drain period is over and the member is still running; it ends
     * as a failed request ends, so that its client and the request log see why.
     */
    protected abstract void gatewayStopping();
  }

  /** One event loop's running executions: an intrusive doubly linked list through the members. */
  public static final class Loop {
    private final Context context;
    private Member head;
    private int size;

    Loop(Context context) {
      this.context = context;
    }

    /** Links {@code e} in; on this loop only. */
    public void add(Member e) {
      if (e.listed) {
        return;
      }
      e.listed = true;
      e.runPrev = null;
      e.runNext = head;
      if (head != null) {
        head.runPrev = e;
      }
      head = e;
      size++;
    }

    /** Unlinks {@code e}, if linked; on this loop only. */
    public void remove(Member e) {
      if (!e.listed) {
        return;
      }
      e.listed = false;
      if (e.runPrev != null) {
        e.runPrev.runNext = e.runNext;
      } else {
        head = e.runNext;
      }
      if (e.runNext != null) {
        e.runNext.runPrev = e.runPrev;
      }
      e.runPrev = null;
      e.runNext = null;
      size--;
    }

    /** On this loop: ends each execution in the list (ending one unlinks it). */
    private int endAll() {
      List<Member> all = new ArrayList<>(size);
      for (Member e = head; e != null; e = e.runNext) {
        all.add(e);
      }
      all.forEach(Member::gatewayStopping);
      return all.size();
    }
  }
}
