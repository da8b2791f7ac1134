package dev.sluice.cli;

import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Takes SIGTERM and SIGINT from the JVM's default handling (which runs the shutdown hooks and exits
 * with 143 or 130), so that a command can stop in its own way and exit with status 0.
 */
final class StopSignals {
  private StopSignals() {}

  /**
   * Sends TERM and INT to {@code handler}. A signal the JVM keeps for itself (-Xrs, an agent) is left
   * to the JVM, with a warning naming what the command then does without it.
   */
  static void handle(SignalHandler handler, String withoutIt) {
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Signal.handle(new Signal(name), handler);
      } catch (IllegalArgumentException e) {
        LoggerFactory.getLogger(StopSignals.class).warn("SIG{} cannot be handled ({}): {}", name, e.getMessage(),
            withoutIt);
      }
    }
  }
}
