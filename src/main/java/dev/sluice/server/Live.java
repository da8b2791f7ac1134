package dev.sluice.server;

import dev.sluice.routing.Deployment;
import dev.sluice.telemetry.Alerts;
import dev.sluice.telemetry.Auditor;
import dev.sluice.telemetry.LiveStats;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives the live view: once a second closes the {@link LiveStats} interval, runs the
 * {@link Auditor}'s rules, and sends the snapshot to every open dashboard.
 */
final class Live {
  private static final Logger LOG = LoggerFactory.getLogger(Live.class);

  private final Vertx vertx;
  private final Services s;
  private final LiveStats stats;
  private final Alerts alerts;
  private final Auditor auditor;
  private final LiveHub hub;
  private long tickTimer = -1;
  private long pingTimer = -1;
  private boolean auditorFailing;

  Live(Vertx vertx, Services s, LiveStats stats, Alerts alerts, Auditor auditor) {
    this.vertx = vertx;
    this.s = s;
    this.stats = stats;
    this.alerts = alerts;
    this.auditor = auditor;
    this.hub = new LiveHub(this::hello,
        () -> new JsonObject().put("type", "alerts").put("alerts", alerts.list(null, null, null)), alerts::whileUnchanged);
    // with the oldest alert still kept, so that a page open for days lets go of the same ones
    alerts.onChange(a -> hub.alertChanged(new JsonObject().put("type", "alert").put("alert", a)
        .put("oldest", alerts.oldestId())));
  }

  LiveHub hub() {
    return hub;
  }

  Auditor auditor() {
    return auditor;
  }

  Alerts alerts() {
    return alerts;
  }

  void start() {
    tickTimer = vertx.setPeriodic(1000, id -> tick());
    pingTimer = vertx.setPeriodic(10_000, id -> hub.ping());
  }

  void stop() {
    vertx.cancelTimer(tickTimer);
    vertx.cancelTimer(pingTimer);
    hub.closeAll();
  }

  private void tick() {
    long now = System.currentTimeMillis();
    JsonObject snap = stats.tick(now, gauges());
    try {
      auditor.evaluate(stats.window(60), now);
      var memory = s.admission().memory();
      auditor.condition("memory:heap", memory.refusing(), Alerts.Severity.CRITICAL, "memory", "heap",
          String.format(java.util.Locale.ROOT, "heap use after GC is %.0f%%, above the high watermark;"
              + " new work is refused until it falls", 100 * memory.lastReading()), now);
      var log = s.observability().log();
      if (log != null) {
        auditor.condition("store:request_log", log.degraded(), Alerts.Severity.WARNING, "store", "request log",
            "the request log cannot be written (" + log.lastError() + "); records are being dropped", now);
      }
      auditorFailing = false;
    } catch (RuntimeException e) {
      if (!auditorFailing) { // once per run of failures, not every second
        LOG.error("the auditor's rules failed; the live view carries on without them", e);
        auditorFailing = true;
      }
    }
    hub.broadcast(snap);
  }

  private JsonObject gauges() {
    JsonArray deployments = new JsonArray();
    int queued = 0;
    for (var g : s.registry().groups()) {
      int q = g.queue().size();
      queued += q;
      for (Deployment d : g.deployments()) {
        deployments.add(new JsonObject()
            .put("id", d.id())
            .put("provider", d.provider().name())
            .put("in_flight", d.inFlight())
            .put("limit", d.limiter().limit())
            .put("queue", q)
            .put("breaker", d.health().breakerState())
            .put("resting", d.health().resting()));
      }
    }
    var log = s.observability().log();
    return new JsonObject()
        .put("in_flight", s.ledger().requestsInFlight())
        .put("queue_depth", queued)
        .put("deployments", deployments)
        .put("request_log", log == null ? "disabled" : log.degraded() ? "degraded" : "ok");
  }

  private JsonObject hello() {
    return new JsonObject()
        .put("type", "hello")
        .put("version", s.version())
        .put("history", stats.history())
        .put("alerts", alerts.list(null, null, null))
        .put("gauges", gauges());
  }
}
