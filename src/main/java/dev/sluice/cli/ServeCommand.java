package dev.sluice.cli;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ConfigProblem;
import dev.sluice.config.ServerConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.routing.Deployment;
import dev.sluice.routing.ModelGroup;
import dev.sluice.server.Gateway;
import dev.sluice.server.Transports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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

  @Override
  public Integer call() throws Exception {
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
    Files.createDirectories(data);
    Gateway gw = Gateway.start(c, new Gateway.Options(data, null));
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
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      gw.close();
      stop.countDown();
    }, "sluice-shutdown"));
    stop.await();
    return 0;
  }

  static String describe(Deployment d) {
    return d.id();
  }
}
