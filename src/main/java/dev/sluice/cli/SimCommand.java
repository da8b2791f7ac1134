package dev.sluice.cli;

import dev.sluice.provider.sim.SimProfile;
import dev.sluice.provider.sim.Simulator;
import dev.sluice.server.Gateway;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sluice sim}: a stand-alone OpenAI-compatible simulator. */
@Command(name = "sim", mixinStandardHelpOptions = true,
    description = "Run the LLM provider simulator on its own (OpenAI-compatible, over real HTTP).")
final class SimCommand implements Callable<Integer> {
  @Option(names = "--port", defaultValue = "9000", description = "port (default: ${DEFAULT-VALUE})")
  int port;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "interface (default: ${DEFAULT-VALUE})")
  String host;

  @Option(names = "--seed", description = "random seed (default: the profile's, or 1)")
  Long seed;

  @Option(names = "--profile", description = "YAML profile of simulated models")
  Path profile;

  @Option(names = "--event-loops", defaultValue = "1", description = "event-loop threads (default: ${DEFAULT-VALUE})")
  int eventLoops;

  @Option(names = "--transport", defaultValue = "auto",
      description = "I/O transport: auto (epoll, else nio), epoll, io_uring or nio (default: ${DEFAULT-VALUE})")
  String transport;

  @Override
  public Integer call() throws Exception {
    SimProfile p = profile == null
        ? SimProfile.builtIn(seed == null ? 1 : seed)
        : SimProfile.load(profile, seed == null ? Long.MIN_VALUE : seed);
    Vertx vertx = Gateway.newVertx(eventLoops, transport);
    Simulator sim = Simulator.start(vertx, p, host, port, eventLoops).await();
    System.out.println("Sluice simulator listening on http://" + host + ":" + sim.port() + "/v1"
        + "  models: " + p.models().keySet() + "  seed: " + p.seed());
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      vertx.close().await();
      stop.countDown();
    }, "sluice-sim-shutdown"));
    stop.await();
    return 0;
  }
}
