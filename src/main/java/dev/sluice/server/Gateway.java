package dev.sluice.server;

import dev.sluice.config.ProviderConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.deadline.DeadlinePolicy;
import dev.sluice.deadline.Scheduler;
import dev.sluice.deadline.VertxScheduler;
import dev.sluice.envelope.EnvelopeReader;
import dev.sluice.provider.openai.OpenAiCompatible;
import dev.sluice.provider.sim.SimProfile;
import dev.sluice.provider.sim.Simulator;
import dev.sluice.routing.ModelRegistry;
import dev.sluice.resilience.RetryBudget;
import dev.sluice.routing.Balancer;
import dev.sluice.routing.RoutePlanner;
import dev.sluice.telemetry.Ledger;
import dev.sluice.telemetry.RecentRequests;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts and stops a whole gateway: the event loops, the in-process simulators, the shared
 * services and one HTTP server per event loop.
 */
public final class Gateway {
  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

  private final Vertx vertx;
  private final boolean ownsVertx;
  private final Services services;
  private final RecentRequests recent;
  private final Map<String, Simulator> simulators;
  private final int port;
  private final String deploymentId;

  private Gateway(Vertx vertx, boolean ownsVertx, Services services, RecentRequests recent,
      Map<String, Simulator> simulators, int port, String deploymentId) {
    this.vertx = vertx;
    this.ownsVertx = ownsVertx;
    this.services = services;
    this.recent = recent;
    this.simulators = simulators;
    this.port = port;
    this.deploymentId = deploymentId;
  }

  /** Start options that are not part of the configuration file. */
  public record Options(Path dataDir, Vertx vertx) {
    public static Options defaults() {
      return new Options(Path.of("."), null);
    }
  }

  public static Vertx newVertx(int eventLoops) {
    return Vertx.vertx(new VertxOptions()
        .setPreferNativeTransport(true)
        .setEventLoopPoolSize(eventLoops)
        .setWorkerPoolSize(Math.max(4, eventLoops * 2)));
  }

  /** Starts a gateway and waits for it; for the command line and tests. */
  public static Gateway start(SluiceConfig config, Options options) {
    int loops = config.server().effectiveEventLoops();
    boolean owns = options.vertx() == null;
    Vertx vertx = owns ? newVertx(loops) : options.vertx();
    try {
      if (config.deadline().skip()) {
        LOG.warn("**************************************************************************");
        LOG.warn("deadline.skip is ON: the gateway cap and tier deadlines are lifted.");
        LOG.warn("Only clients' own budgets and per-attempt guards bound requests. Development only.");
        LOG.warn("**************************************************************************");
      }
      Map<String, Simulator> sims = new LinkedHashMap<>();
      Map<String, ProviderConfig> providers = new LinkedHashMap<>(config.providers());
      for (ProviderConfig p : config.providers().values()) {
        if (p.isSim() && p.enabled()) {
          SimProfile profile = p.sim().profile() == null
              ? SimProfile.builtIn(p.sim().seed())
              : SimProfile.load(Path.of(p.sim().profile()), p.sim().seed());
          Simulator sim = Simulator.start(vertx, profile, "127.0.0.1", 0, 1).await();
          sims.put(p.name(), sim);
          providers.put(p.name(), p.withBaseUrl(URI.create("http://127.0.0.1:" + sim.port() + "/v1")));
        }
      }
      SluiceConfig effective = config.withProviders(providers);

      Ledger ledger = new Ledger();
      RecentRequests recent = new RecentRequests(1024);
      Scheduler scheduler = new VertxScheduler(vertx, ledger.timers());
      Map<String, OpenAiCompatible> adapters = new LinkedHashMap<>();
      providers.values().stream().filter(p -> p.enabled() && p.baseUrl() != null)
          .forEach(p -> adapters.put(p.name(), new OpenAiCompatible(p)));
      RandomGenerator random = new RandomGenerator() {
        @Override
        public long nextLong() {
          return ThreadLocalRandom.current().nextLong();
        }
      };
      ModelRegistry registry = new ModelRegistry(effective, System::nanoTime, null);
      Services services = new Services(effective, System::nanoTime, scheduler, ledger, recent,
          registry, new RoutePlanner(registry, new Balancer(random)),
          new RetryBudget(effective.resilience().budget(), System::nanoTime), random,
          new DeadlinePolicy(effective.deadline(), System::nanoTime),
          new EnvelopeReader(effective.server().maxBodyBytes(), effective.server().maxMessages()),
          Map.copyOf(adapters), version());

      int bindPort = effective.server().port() == 0 && loops > 1 ? -1 : effective.server().port();
      List<GatewayVerticle> verticles = new ArrayList<>();
      String id = vertx.deployVerticle(() -> {
        GatewayVerticle v = new GatewayVerticle(services, effective.server().host(), bindPort);
        synchronized (verticles) {
          verticles.add(v);
        }
        return v;
      }, new DeploymentOptions().setInstances(loops)).await();
      int actual = verticles.get(0).actualPort();
      return new Gateway(vertx, owns, services, recent, sims, actual, id);
    } catch (RuntimeException | java.io.IOException e) {
      if (owns) {
        vertx.close();
      }
      throw e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
    }
  }

  public static String version() {
    String v = Gateway.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  public int port() {
    return port;
  }

  public String baseUrl() {
    return "http://" + hostForClients() + ":" + port;
  }

  private String hostForClients() {
    String h = services.config().server().host();
    return h.equals("0.0.0.0") || h.equals("::") ? "127.0.0.1" : h;
  }

  public Services services() {
    return services;
  }

  public Ledger ledger() {
    return services.ledger();
  }

  public RecentRequests recent() {
    return recent;
  }

  public SluiceConfig config() {
    return services.config();
  }

  public Simulator simulator(String provider) {
    return simulators.get(provider);
  }

  public Vertx vertx() {
    return vertx;
  }

  public void close() {
    try {
      vertx.undeploy(deploymentId).await();
      for (Simulator s : simulators.values()) {
        s.close().await();
      }
    } finally {
      if (ownsVertx) {
        vertx.close().await();
      }
    }
  }
}
