package dev.sluice.server;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/** Short unique request ids: a per-process random prefix and a counter, cheaper than UUIDs. */
final class RequestIds {
  private static final String PREFIX = "req_" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40, 1L << 45), 36) + "_";
  private static final AtomicLong COUNTER = new AtomicLong();

  private RequestIds() {}

  static String next() {
    return PREFIX + Long.toString(COUNTER.incrementAndGet(), 36);
  }

  /** A client's own id is kept when it is short and plain; anything else is replaced. */
  static String fromClient(String id) {
    if (id == null || id.isEmpty() || id.length() > 128) {
      return next();
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (!(Character.isLetterOrDigit(c) || c == '-' || c == '_' || c == '.' || c == ':')) {
        return next();
      }
    }
    return id;
  }
}
