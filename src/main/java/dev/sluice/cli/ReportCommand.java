package dev.sluice.cli;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.Durations;
import dev.sluice.config.SluiceConfig;
import dev.sluice.store.Database;
import dev.sluice.store.LogReport;
import dev.sluice.store.RequestLogReader;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sluice report}: what a window of traffic looked like, with recommendations. */
@Command(name = "report", mixinStandardHelpOptions = true,
    description = "Summarise a window of the request log per model, provider and deployment, with recommendations.")
final class ReportCommand implements Callable<Integer> {
  @Option(names = "--window", defaultValue = "1h", description = "how far back (default: ${DEFAULT-VALUE})")
  String window;

  @Option(names = "--config", description = "configuration file whose store to read (default: built-in)")
  Path config;

  @Option(names = "--data-dir", description = "data directory (default: the current directory)")
  Path dataDir;

  @Override
  public Integer call() throws Exception {
    long w = Durations.parseNanos(window);
    if (w < 0) {
      System.err.println("--window must be a duration such as 15m, 1h or 24h");
      return 2;
    }
    ConfigLoader loader = ConfigLoader.fromEnvironment();
    SluiceConfig c = config == null ? loader.loadDefault() : loader.load(config);
    if (!c.store().enabled()) {
      System.err.println("the configuration has store.url: none; there is no request log to report on");
      return 2;
    }
    try (Database db = Database.open(c.store(), dataDir == null ? Path.of("").toAbsolutePath() : dataDir)) {
      long now = System.currentTimeMillis();
      LogReport r = LogReport.of(new RequestLogReader(db), now - w / 1_000_000, now + 1);
      System.out.print(r.render());
      return 0;
    }
  }
}
