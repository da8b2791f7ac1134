package dev.sluice.resilience;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The executions running now, on every event loop, so that a gateway that stops after its drain
 * period can end each one as the design says a failed request ends (a status before the commit
 * point, the final error event after it) instead of cutting its connection.
 */
public final class Running {
  private final Set<Execution> executions = ConcurrentHashMap.newKeySet();

  void add(Execution e) {
    executions.add(e);
  }

  void remove(Execution e) {
    executions.remove(e);
  }

  public int size() {
    return executions.size();
  }

  /** Ends every execution still running, each on its own event loop; returns how many were told. */
  public int endAll() {
    int n = 0;
    for (Execution e : executions) {
      e.gatewayStopping();
      n++;
    }
    return n;
  }
}
