package dev.sluice.cli;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ConfigProblem;
import dev.sluice.config.Durations;
import dev.sluice.config.ServerConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.routing.Deployment;
import dev.sluice.routing.ModelGroup;
import dev.sluice.server.Gateway;
import dev.sluice.server.Transports;
import java.io.IOException;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.SignalHandler;

/** {@code sluice serve}: runs the gateway until interrupted. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the gateway (built-in default: simulated providers on model 'demo').")
final class ServeCommand implements Callable<Integer> {
  @Option(names = "--config", description = "YAML configuration file (default: the built-in one)")
  Path config;

  @Option(names = "--port", description = "port to listen on (default: from the configuration, 8080)")
  Integer port;

  @Option(names = "--host", description = "interface to bind (default: from the configuration, 127.0.0.1)")
  String host;

  @Option(names = "--event-loops", description = "event-loop threads (default: one per core)")
  Integer eventLoops;

  @Spec
  CommandSpec spec;

  @Option(names = "--transport",
      description = "I/O transport: auto (epoll, else nio), epoll, io_uring or nio (default: the config's)")
  String transport;

  @Option(names = "--data-dir", description = "where the gateway keeps its data (default: the current directory)")
  Path dataDir;

  @Option(names = "--drain", defaultValue = "20s",
      description = "on SIGTERM or Ctrl-C, how long the requests in flight may take to finish before they are ended"
          + " (default: ${DEFAULT-VALUE}; 0 ends them at once); a second signal ends them at once")
  String drain;

  @Override
  public Integer call() throws Exception {
    Duration drainPeriod = Durations.isZero(drain) ? Duration.ZERO : Durations.parse(drain);
    if (drainPeriod == null) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "--drain: '" + drain + "' is not a duration such as 0, 500ms, 20s or 1m");
    }
    ConfigLoader loader = ConfigLoader.fromEnvironment();
    ConfigLoader.Result r = config == null ? loader.checkDefault() : loader.check(config);
    for (ConfigProblem p : r.problems()) {
      System.err.println((config == null ? "built-in config" : config) + ": " + p);
    }
    if (!r.ok()) {
      return 2;
    }
    SluiceConfig c = r.config();
    if (port != null) {
      c = c.withServer(c.server().withPort(port));
    }
    if (host != null) {
      c = c.withServer(c.server().withHost(host));
    }
    if (eventLoops != null) {
      c = c.withServer(c.server().withEventLoops(eventLoops));
    }
    if (transport != null) {
      String problem = ServerConfig.transportProblem(transport);
      if (problem != null) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--transport: " + problem);
      }
      c = c.withServer(c.server().withTransport(transport));
    }
    Path data = dataDir == null ? Path.of("").toAbsolutePath() : dataDir.toAbsolutePath();
    try {
      Files.createDirectories(data);
    } catch (IOException e) {
      throw new IllegalStateException("cannot make the data directory " + data + ": " + e.getMessage(), e);
    }
    Gateway gw;
    try {
      gw = Gateway.start(c, new Gateway.Options(data, null));
    } catch (RuntimeException e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof BindException || String.valueOf(t.getMessage()).contains("Address already in use")) {
          throw new IllegalStateException("cannot listen on " + c.server().host() + ":" + c.server().port()
              + ": address already in use (another process holds the port; choose another with --port)", e);
        }
      }
      throw new IllegalStateException("the gateway did not start: " + Main.describe(e), e);
    }
    // TERM and INT are handled here rather than by the JVM's shutdown, so that a stop can drain,
    // a second signal can cut the drain short, and a clean stop exits with status 0
    CountDownLatch stopped = new CountDownLatch(1);
    AtomicBoolean stopping = new AtomicBoolean();
    SignalHandler onSignal = sig -> {
      if (stopping.compareAndSet(false, true)) {
        System.err.println("sluice: stopping (SIG" + sig.getName() + "): requests in flight have up to " + drain
            + " to finish; signal again to end them now");
        new Thread(() -> {
          try {
            gw.stop(drainPeriod);
          } finally {
            stopped.countDown();
          }
        }, "sluice-stop").start();
      } else {
        System.err.println("sluice: ending the requests in flight now");
        gw.hurry();
      }
    };
    // a signal the JVM keeps stops through the hook below, undrained
    StopSignals.handle(onSignal, "a stop on it will not drain");
    // any other way out (SIGHUP, an exit elsewhere) still closes the gateway, without a drain
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (stopping.compareAndSet(false, true)) {
        gw.close();
        stopped.countDown();
      }
    }, "sluice-shutdown"));
    // said only now that a stop is handled: whoever waits for this line may stop it at once
    System.out.println("Sluice " + Gateway.version() + " listening on " + gw.baseUrl()
        + "  (OpenAI base URL: " + gw.baseUrl() + "/v1)");
    System.out.println("  config: " + (config == null ? "built-in default" : config.toAbsolutePath())
        + "   data: " + data);
    String running = Transports.nameOf(gw.vertx());
    String why = running.equals("nio") && c.server().transport().equals("auto") ? Transports.epollUnavailable() : null;
    System.out.println("  transport: " + running + (why == null ? "" : "  (epoll unavailable: " + why + ")"));
    for (ModelGroup g : gw.services().registry().groups()) {
      System.out.println("  model " + g.name() + " -> " + g.deployments().stream()
          .map(d -> d.id() + " (" + d.provider().name() + ", weight " + d.weight() + ")")
          .collect(Collectors.joining(", ")));
    }
    if (!gw.services().registry().passthroughProviders().isEmpty()) {
      System.out.println("  pass-through: " + gw.services().registry().passthroughProviders().stream()
          .map(p -> p + "/<model>").collect(Collectors.joining(", ")));
    }
    stopped.await();
    return 0;
  }

  static String describe(Deployment d) {
    return d.id();
  }
}
