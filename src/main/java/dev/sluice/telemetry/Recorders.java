package dev.sluice.telemetry;

import java.util.List;

/** Sends each record to several recorders (recent requests, metrics, the request log, live events). */
public final class Recorders implements Recorder {
  private final Recorder[] all;

  private Recorders(List<Recorder> all) {
    this.all = all.toArray(new Recorder[0]);
  }

  public static Recorder of(List<Recorder> recorders) {
    return recorders.size() == 1 ? recorders.get(0) : new Recorders(recorders);
  }

  @Override
  public void record(RequestRecord r) {
    for (Recorder x : all) {
      x.record(r);
    }
  }
}
