package dev.sluice.telemetry;

/** Receives one record per request. Implementations must not block: they are called on the event loop. */
public interface Recorder {
  void record(RequestRecord record);
}
