package dev.sluice.cli;

import dev.sluice.provider.sim.SimProfile;
import dev.sluice.provider.sim.Simulator;
import dev.sluice.server.Gateway;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
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
    // TERM and INT close the simulator and exit with status 0, as a stop asked for is not a failure;
    // any other way out still closes it through the hook
    CountDownLatch stop = new CountDownLatch(1);
    AtomicBoolean stopping = new AtomicBoolean();
    Runnable close = () -> {
      if (stopping.compareAndSet(false, true)) {
        vertx.close().await();
        stop.countDown();
      }
    };
    StopSignals.handle(sig -> new Thread(close, "sluice-sim-stop").start(), "a stop on it exits with the JVM's status");
    Runtime.getRuntime().addShutdownHook(new Thread(close, "sluice-sim-shutdown"));
    // said only now that a stop is handled: whoever waits for this line may stop it at once
    System.out.println("Sluice simulator listening on http://" + host + ":" + sim.port() + "/v1"
        + "  models: " + p.models().keySet() + "  seed: " + p.seed());
    stop.await();
    return 0;
  }
}
