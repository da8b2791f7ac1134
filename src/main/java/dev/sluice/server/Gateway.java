package dev.sluice.server;

import dev.sluice.admission.Admission;
import dev.sluice.admission.KeyRing;
import dev.sluice.admission.MemoryGuard;
import dev.sluice.config.Durations;
import dev.sluice.config.ProviderConfig;
import dev.sluice.store.KeyStore;
import io.github.bucket4j.TimeMeter;
import dev.sluice.config.SluiceConfig;
import dev.sluice.deadline.DeadlinePolicy;
import dev.sluice.deadline.Scheduler;
import dev.sluice.deadline.VertxScheduler;
import dev.sluice.envelope.EnvelopeReader;
import dev.sluice.provider.UpstreamClients;
import dev.sluice.provider.UpstreamConnections;
import dev.sluice.provider.openai.OpenAiCompatible;
import dev.sluice.provider.sim.SimProfile;
import dev.sluice.provider.sim.Simulator;
import dev.sluice.routing.ModelRegistry;
import dev.sluice.resilience.RetryBudget;
import dev.sluice.resilience.Running;
import dev.sluice.routing.Balancer;
import dev.sluice.routing.RoutePlanner;
import dev.sluice.telemetry.Ledger;
import dev.sluice.store.Database;
import dev.sluice.store.RequestLog;
import dev.sluice.store.RequestLogReader;
import dev.sluice.telemetry.Alerts;
import dev.sluice.telemetry.Auditor;
import dev.sluice.telemetry.LiveStats;
import dev.sluice.telemetry.Metrics;
import dev.sluice.telemetry.RecentRequests;
import dev.sluice.telemetry.Recorder;
import dev.sluice.telemetry.Recorders;
import dev.sluice.telemetry.Telemetry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.URI;
import java.time.Duration;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;
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
  private final ServerLoops<GatewayVerticle> servers;

  private final Live live;
  private long[] timers = new long[0];

  private Gateway(Vertx vertx, boolean ownsVertx, Services services, RecentRequests recent, Live live,
      Map<String, Simulator> simulators, int port, ServerLoops<GatewayVerticle> servers) {
    this.live = live;
    this.vertx = vertx;
    this.ownsVertx = ownsVertx;
    this.services = services;
    this.recent = recent;
    this.simulators = simulators;
    this.port = port;
    this.servers = servers;
  }

  /**
   * Start options that are not part of the configuration file. {@code timers} wraps the scheduler
   * every request's timers go through (identity in production): tests use it to fire a timer at an
   * exact point of a race that real time cannot pick.
   */
  public record Options(Path dataDir, Vertx vertx, UnaryOperator<Scheduler> timers) {
    public Options(Path dataDir, Vertx vertx) {
      this(dataDir, vertx, UnaryOperator.identity());
    }

    public static Options defaults() {
      return new Options(Path.of("."), null);
    }
  }

  static final long CLOSE_WAIT_SECONDS = 10;

  /** Event loops on the transport {@code transport} names (see {@link Transports#choose}). */
  public static Vertx newVertx(int eventLoops, String transport) {
    return Vertx.builder()
        .with(new VertxOptions()
            .setEventLoopPoolSize(eventLoops)
            .setWorkerPoolSize(Math.max(4, eventLoops * 2)))
        .withTransport(Transports.choose(transport))
        .build();
  }

  /** Starts a gateway and waits for it; for the command line and tests. */
  public static Gateway start(SluiceConfig config, Options options) {
    int loops = config.server().effectiveEventLoops();
    boolean owns = options.vertx() == null;
    Vertx vertx = owns ? newVertx(loops, config.server().transport()) : options.vertx();
    // what a start that fails part-way must close again: nothing of a failed gateway keeps running
    List<AutoCloseable> opened = new ArrayList<>();
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
          opened.add(() -> sim.close().await());
          sims.put(p.name(), sim);
          providers.put(p.name(), p.withBaseUrl(URI.create("http://127.0.0.1:" + sim.port() + "/v1")));
        }
      }
      SluiceConfig effective = config.withProviders(providers);

      Ledger ledger = new Ledger();
      RecentRequests recent = new RecentRequests(1024);
      Metrics metrics = new Metrics();
      boolean metricsOn = effective.server().metrics();
      Database db = effective.store().enabled() ? Database.open(effective.store(), options.dataDir()) : null;
      if (db != null) {
        opened.add(db::close);
      }
      RequestLog log = db == null ? null : new RequestLog(db, effective.store(), System::currentTimeMillis);
      if (log != null) {
        opened.add(log::close);
      }
      Observability obs = new Observability(metrics, recent, db, log, db == null ? null : new RequestLogReader(db));
      List<Recorder> recorders = new ArrayList<>();
      recorders.add(recent);
      LiveStats liveStats = new LiveStats();
      recorders.add(liveStats);
      Alerts alerts = new Alerts();
      Auditor auditor = new Auditor(alerts);
      if (metricsOn) {
        recorders.add(metrics);
      }
      if (log != null) {
        recorders.add(log);
      }
      Scheduler scheduler = options.timers().apply(new VertxScheduler(vertx, ledger.timers()));
      Map<String, OpenAiCompatible> adapters = new LinkedHashMap<>();
      providers.values().stream().filter(p -> p.enabled() && p.baseUrl() != null)
          .forEach(p -> adapters.put(p.name(), new OpenAiCompatible(p)));
      RandomGenerator random = new RandomGenerator() {
        @Override
        public long nextLong() {
          return ThreadLocalRandom.current().nextLong();
        }
      };
      ModelRegistry registry = new ModelRegistry(effective, System::nanoTime, (id, from, to) -> {
        if (metricsOn) {
          metrics.breakerTransition(id, to);
        }
        auditor.breaker(id, to, System.currentTimeMillis());
      });
      KeyRing ring = new KeyRing();
      KeyService keys = db == null ? null : new KeyService(new KeyStore(db), ring);
      if (keys != null) {
        keys.refresh();
      }
      MemoryGuard memory = MemoryGuard.forHeap(effective.admission().memoryHigh(), effective.admission().memoryLow());
      Admission admission = new Admission(effective.admission(), ring, memory, TimeMeter.SYSTEM_NANOTIME);
      Services services = new Services(effective, System::nanoTime, scheduler, ledger, Recorders.of(recorders),
          registry, new RoutePlanner(registry, new Balancer(random)),
          new RetryBudget(effective.resilience().budget(), System::nanoTime), random,
          new DeadlinePolicy(effective.deadline(), System::nanoTime),
          new EnvelopeReader(effective.server().maxBodyBytes(), effective.server().maxMessages()),
          Map.copyOf(adapters), metricsOn ? metrics : Telemetry.NONE, admission, obs, keys, version(), new Running());
      UpstreamConnections connections = new UpstreamConnections();
      registerGauges(metrics, services, connections);
      java.util.function.UnaryOperator<String> labels = modelLabels(registry);
      metrics.modelLabels(labels);
      java.util.Set<String> configured = new java.util.HashSet<>();
      registry.deployments().forEach(d -> configured.add(d.id()));
      metrics.deploymentLabels(id -> configured.contains(id) ? id : labels.apply(id));
      liveStats.modelLabels(labels);
      Live live = new Live(vertx, services, liveStats, alerts, auditor);

      int bindPort = effective.server().port() == 0 && loops > 1 ? -1 : effective.server().port();
      ServerLoops<GatewayVerticle> servers = ServerLoops.start(vertx, loops,
          () -> new GatewayVerticle(services, live, effective.server().host(), bindPort, connections));
      int actual = servers.verticles().get(0).actualPort();
      live.start();
      long memoryTimer = vertx.setPeriodic(250, t -> memory.check());
      long keyTimer = keys == null ? -1 : vertx.setPeriodic(5000, refreshKeys(vertx, keys));
      long[] timers = {memoryTimer, keyTimer};
      if (!ring.requiresKeys()) {
        LOG.info("no API keys exist: the API answers loopback clients only, without a key"
            + " (create one with 'sluice keys create')");
      } else {
        LOG.info("{} API keys known; every request needs one", ring.size());
      }
      if (effective.adminKey().isEmpty()) {
        LOG.info("admin API and dashboard data: loopback clients only (set SLUICE_ADMIN_KEY to open them with a key)");
      }
      Gateway gw = new Gateway(vertx, owns, services, recent, live, sims, actual, servers);
      gw.timers = timers;
      return gw;
    } catch (RuntimeException | java.io.IOException e) {
      // newest first: the request log before the store it writes to
      for (int i = opened.size() - 1; i >= 0; i--) {
        try {
          opened.get(i).close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      if (owns) {
        vertx.close();
      }
      throw e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
    }
  }

  /**
   * The periodic key refresh, one at a time: a tick that finds the last refresh still running (the
   * store slow or hanging) skips its turn instead of queueing a worker thread behind it, which,
   * tick after tick, would take the whole worker pool and with it /metrics and the admin API.
   */
  static io.vertx.core.Handler<Long> refreshKeys(Vertx vertx, KeyService keys) {
    java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean();
    return tick -> {
      if (running.compareAndSet(false, true)) {
        vertx.executeBlocking(() -> {
          keys.refresh();
          return null;
        }, false).onComplete(ar -> running.set(false));
      }
    };
  }

  /**
   * Configured model names and aliases are labels as they are; a pass-through name
   * ({@code provider/<anything>}) is chosen by the client, so it becomes {@code provider/*}.
   */
  static java.util.function.UnaryOperator<String> modelLabels(ModelRegistry registry) {
    java.util.Set<String> known = new java.util.HashSet<>();
    registry.groups().forEach(g -> known.add(g.name()));
    return m -> {
      if (known.contains(m)) {
        return m;
      }
      dev.sluice.config.ProviderConfig p = registry.passthroughProvider(m);
      return p == null ? m : p.name() + "/*";
    };
  }

  private static void registerGauges(Metrics m, Services s, UpstreamConnections connections) {
    Ledger l = s.ledger();
    m.gauge("sluice_requests_in_flight", "Requests being served now", l::requestsInFlight);
    m.gauge("sluice_attempts_in_flight", "Upstream attempts running now", l::attemptsInFlight);
    m.gauge("sluice_upstream_exchanges_open", "Upstream HTTP exchanges open now", l::upstreamsOpen);
    m.gauge("sluice_timers_armed", "Request timers armed now", l::timersArmed);
    m.gauge("sluice_breaker_permits_held", "Circuit breaker permits held by running attempts", l::permitsHeld);
    for (var g : s.registry().groups()) {
      m.gauge("sluice_queue_depth", "Requests waiting for a deployment's concurrency, per model",
          () -> g.queue().size(), "model", g.name());
    }
    m.gauge("sluice_admission_in_flight", "Requests admitted and not yet ended", () -> s.admission().inFlight());
    m.gauge("sluice_memory_pressure", "1 while the memory guard refuses new work",
        () -> s.admission().memory().refusing() ? 1 : 0);
    for (var p : s.config().providers().values()) {
      if (UpstreamClients.reached(p)) {
        m.gauge("sluice_upstream_connections", "Upstream connections open now (kept alive between requests), per provider",
            () -> connections.open(p.name()), "provider", p.name());
      }
    }
    for (var d : s.registry().deployments()) {
      m.gauge("sluice_concurrency_limit", "The deployment's current adaptive concurrency limit",
          () -> d.limiter().limit(), "deployment", d.id(), "provider", d.provider().name());
      m.gauge("sluice_deployment_in_flight", "Attempts in flight per deployment", d::inFlight,
          "deployment", d.id(), "provider", d.provider().name());
      for (String state : new String[] {"closed", "open", "half_open"}) {
        m.gauge("sluice_breaker_state", "1 for the breaker's current state", () -> state.equals(d.health().breakerState()) ? 1 : 0,
            "deployment", d.id(), "state", state);
      }
    }
    RequestLog log = s.observability().log();
    if (log != null) {
      m.functionCounter("sluice_request_log_written", "Request records written to the store", log, RequestLog::written);
      m.functionCounter("sluice_request_log_dropped", "Request records dropped because the store was slow or down",
          log, RequestLog::dropped);
      m.gauge("sluice_request_log_pending", "Request records waiting to be written", log::pending);
      m.gauge("sluice_request_log_degraded", "1 while writes to the store fail", () -> log.degraded() ? 1 : 0);
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

  public Alerts alerts() {
    return live.alerts();
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

  /** The event-loop threads the HTTP servers run on, one per configured event loop (for tests). */
  List<Thread> servingThreads() {
    return servers.threads();
  }

  /**
   * Stops gracefully: stops accepting connections at once, lets the requests in flight finish for up
   * to {@code drain} (or until {@link #hurry} is called), then ends those still running as failed
   * requests end (a 503, or the final error event of a stream) so that their clients and the
   * request log see why, and closes everything as {@link #close} does, the request log last but
   * one so that the drained requests' records are written.
   */
  public void stop(Duration drain) {
    long until = System.nanoTime() + drain.toNanos();
    // the servers' own limit is a backstop: the requests are ended below before it is reached
    Future<?> shut = servers.each(v -> v.shutdown(drain.toMillis() + TimeUnit.SECONDS.toMillis(CLOSE_WAIT_SECONDS)));
    // a request may still arrive until every server has closed its listener and its HTTP/2 clients
    // have had their last GOAWAY (one round trip): none in flight before then does not end the drain
    awaitStopped(servers.each(GatewayVerticle::shutdownBegun), Http2GoAway.ROUND_TRIP_BOUND_MS + 1_000,
        TimeUnit.MILLISECONDS);
    long before = services.ledger().requestsInFlight();
    if (before > 0) {
      LOG.info("stopping: no new connections; waiting up to {} for {} request(s) in flight",
          Durations.format(drain), before);
    }
    while (services.ledger().requestsInFlight() > 0 && System.nanoTime() < until && !hurried) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    int ended = services.running().endAll(CLOSE_WAIT_SECONDS);
    if (ended > 0) {
      LOG.warn("stopping: {} request(s) still running were ended (drain period over)", ended);
    }
    // a dashboard's WebSocket is a connection the servers' shutdown would wait on to its limit: it
    // watched the drain, and is closed now so that the stop ends when the requests have
    live.stop();
    if (!awaitStopped(shut, CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
      LOG.warn("stopping: connections still open after {} s; closing them", CLOSE_WAIT_SECONDS);
    }
    close();
  }

  private volatile boolean hurried;

  /** Ends {@link #stop}'s drain period now (a second signal). */
  public void hurry() {
    hurried = true;
  }

  public void close() {
    try {
      for (long t : timers) {
        if (t != -1) {
          vertx.cancelTimer(t);
        }
      }
      live.stop();
      servers.stop();
      for (Simulator s : simulators.values()) {
        s.close().await();
      }
      Observability o = services.observability();
      if (o.log() != null) {
        o.log().close();
      }
      if (o.database() != null) {
        o.database().close();
      }
      o.metrics().close();
    } finally {
      if (ownsVertx) {
        closeEventLoops();
      }
    }
  }

  /**
   * Stops the event loops, waiting at most {@link #CLOSE_WAIT_SECONDS}: a shutdown must end on time
   * too. With Netty 4.2.9's io_uring transport an acceptor loop once missed the wake-up that tells
   * it to stop (Netty has mended such races since: netty/netty#15582, #16836); one such loop must
   * not hold a gateway's stop for ever.
   */
  private void closeEventLoops() {
    if (!awaitStopped(vertx.close(), CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
      LOG.warn("the event loops ({}) did not stop within {} s; stopping without them",
          Transports.nameOf(vertx), CLOSE_WAIT_SECONDS);
    }
  }

  /** Waits for {@code stopping} at most {@code timeout}; false when it did not finish in time. */
  static boolean awaitStopped(Future<?> stopping, long timeout, TimeUnit unit) {
    try {
      stopping.await(timeout, unit);
      return true;
    } catch (TimeoutException e) {
      return false;
    }
  }
}
