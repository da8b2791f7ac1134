package dev.sluice.bench;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Shows a run's progress on stderr, or nothing when switched off (scripts, CI). */
public interface Progress extends AutoCloseable {
  void update(LiveCounters live);

  @Override
  void close();

  Progress NONE = new Progress() {
    @Override
    public void update(LiveCounters live) { }

    @Override
    public void close() { }
  };

  /** A progress bar over all requests of the run (warm-up included), counting those that ended. */
  static Progress bar(String task, long total) {
    ProgressBar bar = new ProgressBarBuilder()
        .setTaskName(task)
        .setInitialMax(total)
        .setStyle(ProgressBarStyle.ASCII)
        .setUpdateIntervalMillis(250)
        .setConsumer(new ConsoleProgressBarConsumer(System.err, 110))
        .showSpeed()
        .build();
    return new Progress() {
      @Override
      public void update(LiveCounters live) {
        bar.stepTo(live.finished());
        bar.setExtraMessage(" in flight " + live.inFlight() + ", failed " + live.failed());
      }

      @Override
      public void close() {
        bar.close();
      }
    };
  }
}
