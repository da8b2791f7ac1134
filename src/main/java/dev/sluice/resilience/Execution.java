package dev.sluice.resilience;

import dev.sluice.config.Durations;
import dev.sluice.config.ResilienceConfig;
import dev.sluice.config.Timeouts;
import dev.sluice.deadline.Deadline;
import dev.sluice.deadline.Guard;
import dev.sluice.deadline.Scheduler;
import dev.sluice.admission.Admission;
import dev.sluice.admission.AdmissionQueue;
import dev.sluice.admission.Priority;
import dev.sluice.admission.Ticket;
import dev.sluice.envelope.BodyRewriter;
import dev.sluice.envelope.Endpoint;
import dev.sluice.envelope.Envelope;
import dev.sluice.errors.ApiError;
import dev.sluice.errors.ErrorResponder;
import dev.sluice.errors.SluiceHeaders;
import dev.sluice.provider.UpstreamClients;
import dev.sluice.provider.UpstreamRequest;
import dev.sluice.provider.openai.OpenAiCompatible;
import dev.sluice.routing.Deployment;
import dev.sluice.routing.DeploymentHealth;
import dev.sluice.routing.RoutePlan;
import dev.sluice.telemetry.Ledger;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.Recorder;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.stream.Usage;
import dev.sluice.telemetry.Telemetry;
import io.vertx.core.Vertx;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * Runs a request's attempts against its route plan within its deadline: retries what is worth
 * retrying, fails over along the plan, hedges a slow first attempt, commits the first answer, and
 * ends the request exactly once — answered, failed, timed out, truncated or abandoned by the client.
 * Nothing starts after the commit point or past the deadline. It owns the request's deadline,
 * backoff and hedge timers and the client's close handler; everything the request took is given
 * back by the time {@link #end} has run.
 *
 * <p>Lives on the event loop of the client's connection; not thread-safe.
 */
public final class Execution extends Running.Member implements Attempt.Owner {
  /** What an execution needs from the gateway around it. */
  public record Context(
      LongSupplier clock,
      Scheduler scheduler,
      Ledger ledger,
      Recorder recorder,
      Map<String, OpenAiCompatible> adapters,
      UpstreamClients clients,
      RetryBudget globalBudget,
      RandomGenerator random,
      Telemetry telemetry,
      Running.Loop running) {}

  /** Why a failed request was not retried. */
  enum GiveUp { NOT_RETRYABLE, MAX_ATTEMPTS, NO_CAPACITY, DEADLINE, BUDGET }

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Execution.class);
  private static final CharSequence EVENT_STREAM = HttpHeaders.createOptimized("text/event-stream; charset=utf-8");
  private static final CharSequence NO_CACHE = HttpHeaders.createOptimized("no-cache");
  private static final CharSequence JSON = HttpHeaders.createOptimized("application/json");
  private static final long MIN_USEFUL_FLOOR_NANOS = 20_000_000L;

  private final Context ctx;
  private final HttpServerResponse resp;
  private final Envelope env;
  private final byte[] bytes;
  private final Buffer body;
  private final Deadline deadline;
  private final RoutePlan plan;
  private final ResilienceConfig policy;
  private final Picker picker;
  private final Backoff backoff;
  private final long arrivalNanos;
  private final long startEpochMillis;
  private final String requestId;
  private final List<Attempt> active = new ArrayList<>(2);
  private final List<String> hops = new ArrayList<>(3);
  private final Ticket ticket;
  private final io.vertx.core.Context loop;
  private final Waiter waiter = new Waiter();
  private boolean queued;
  private volatile boolean over;
  private Usage usage = Usage.UNKNOWN;

  private int attempts;
  private boolean hedged;
  private Deployment lastDeployment;
  private long deadlineTimer = -1;
  private long queueTimer = -1;
  private long backoffTimer = -1;
  private long hedgeTimer = -1;
  private boolean committed;
  private boolean ended;
  private long commitNanos = -1;
  private long firstTokenNanos = -1;
  private double overheadMs = -1;

  public Execution(Context ctx, HttpServerResponse resp, Envelope env, byte[] bytes, Buffer body, Deadline deadline,
      RoutePlan plan, long arrivalNanos, long startEpochMillis, String requestId, Ticket ticket) {
    this.ctx = ctx;
    this.ticket = ticket;
    this.loop = Vertx.currentContext();
    this.resp = resp;
    this.env = env;
    this.bytes = bytes;
    this.body = body;
    this.deadline = deadline;
    this.plan = plan;
    this.policy = plan.group().resilience();
    this.picker = new Picker(plan);
    this.backoff = new Backoff(policy.retry().backoffBase(), policy.retry().backoffMax(), ctx.random());
    this.arrivalNanos = arrivalNanos;
    this.startEpochMillis = startEpochMillis;
    this.requestId = requestId;
  }

  /** Takes over the request (the ledger's request count is already taken by the edge). */
  public void start() {
    ctx.running().add(this);
    // an HTTP/2 stream also "closes" when its response ends: only a close before that is the client leaving
    resp.closeHandler(v -> {
      if (!resp.ended()) {
        clientClosed();
      }
    });
    resp.exceptionHandler(t -> {
      if (!resp.ended()) {
        clientClosed();
      }
    });
    if (deadline.bounded()) {
      long left = deadline.remainingNanos();
      if (left <= 0) {
        deadlineFired();
        return;
      }
      deadlineTimer = ctx.scheduler().schedule(left, () -> {
        deadlineTimer = -1;
        deadlineFired();
      });
    }
    ctx.globalBudget().onRequest();
    Picker.Pick first = picker.next(List.of());
    if (first == null) {
      enqueue();
      return;
    }
    launch(first.deployment(), first.permit());
  }

  // ---- the queue ---------------------------------------------------------------------------

  /** Every deployment is at its concurrency limit: wait for a slot, or be refused at once. */
  private void enqueue() {
    AdmissionQueue q = plan.group().queue();
    AdmissionQueue.Refusal r = q.offer(waiter);
    if (r == null) {
      queued = true;
      ctx.ledger().enqueued();
      long maxWait = q.maxWaitNanos();
      if (maxWait != AdmissionQueue.UNBOUNDED) {
        // the bound holds for the wait itself, not only for the estimate made on entry: slots that
        // free in bursts (answers that started together end together) can make a wait far longer
        queueTimer = ctx.scheduler().schedule(maxWait, () -> {
          queueTimer = -1;
          queueWaitExpired(maxWait);
        });
      }
      // a slot may have freed on another event loop between our look and the offer: nothing else
      // would wake the queue for it
      q.dispatch();
      return;
    }
    refuse(r == AdmissionQueue.Refusal.QUEUE_FULL ? "queue_full" : "deadline_unmeetable",
        r == AdmissionQueue.Refusal.QUEUE_FULL
            ? "every deployment of '" + env.model() + "' is at its concurrency limit and the queue is full"
            : "the request cannot finish within its deadline given the " + q.size() + " requests queued ahead");
  }

  /** Waited the queue's {@code max_wait} without a slot: leave the queue with the same refusal as a full one. */
  private void queueWaitExpired(long maxWait) {
    AdmissionQueue q = plan.group().queue();
    // false: a dispatch to this request is already on its way, and it will be served
    if (ended || !queued || !q.remove(waiter)) {
      return;
    }
    queued = false;
    ctx.ledger().dequeued();
    refuse("queue_full", "every deployment of '" + env.model() + "' stayed at its concurrency limit for the queue's"
        + " max_wait of " + Durations.formatNanos(maxWait));
  }

  private void refuse(String reason, String message) {
    long retryAfter = Math.max(1, (plan.group().queue().estimatedWaitNanos(waiter) + 999_999_999L) / 1_000_000_000L);
    ctx.telemetry().shed(reason);
    ticket.refundRequest(); // the gateway's own overload must not use up the client's quota
    ErrorResponder.send(resp, new ApiError(503, "overloaded_error", reason, null, message, retryAfter));
    end(Outcome.REJECTED, 503, reason, message);
  }

  /** This request as its model's queue sees it. */
  private final class Waiter implements AdmissionQueue.Waiter {
    @Override
    public Priority priority() {
      return ticket.priority();
    }

    @Override
    public long deadlineNanos() {
      return deadline.atNanos();
    }

    @Override
    public long expectedServiceNanos() {
      return Math.max(0, plan.primary().health().latency(env.stream()).quantile(0.5));
    }

    @Override
    public boolean dispatched(Object slot) {
      if (over) {
        return false;
      }
      loop.runOnContext(v -> onDispatched((Deployment) slot));
      return true;
    }
  }

  private void onDispatched(Deployment d) {
    if (ended) {
      Picker.giveBackSlot(d);
      return;
    }
    queued = false;
    ctx.ledger().dequeued();
    cancelTimer(queueTimer);
    queueTimer = -1;
    if (deadline.remainingNanos() < minUsefulNanos(d)) {
      // too little time is left for an answer: a provider call now could only be wasted
      Picker.giveBackSlot(d);
      deadlineFired();
      return;
    }
    launch(d, d.health().tryAcquire());
  }

  // ---- attempts ----------------------------------------------------------------------------

  private void launch(Deployment d, boolean permit) {
    attempts++;
    lastDeployment = d;
    picker.markTried(d);
    if (permit) {
      ctx.ledger().permitTaken();
    }
    ctx.ledger().slotTaken();
    d.health().budget().onRequest();
    hops.add(d.id());
    OpenAiCompatible adapter = ctx.adapters().get(d.provider().name());
    Buffer upstreamBody = upstreamBody(d, adapter);
    long remaining = deadline.remainingNanos();
    Timeouts t = AdaptiveGuard.apply(d.timeouts(), d.health().latency(env.stream()), env.stream(), policy.adaptive());
    // Vert.x's own connect timeout is only a backstop, set just behind the gateway's timers (the
    // connect guard, the deadline): those were armed first, so they fire first and name the cause
    long connectMs = (Math.min(t.connect().toNanos(), remaining) + 999_999) / 1_000_000 + 1;
    UpstreamRequest r = adapter.request(env.endpoint(), env.stream(), upstreamBody, remaining, connectMs, requestId);
    Attempt a = new Attempt(this, d, ctx.clients().client(d.provider().name()), r, deadline, env.stream(), t,
        ctx.scheduler(), ctx.ledger(), attempts, permit);
    active.add(a);
    armHedge(d);
    a.start();
  }

  /**
   * The body an attempt on {@code d} sends: the model renamed, the gateway's own fields removed, the
   * token ceiling added. (Its own method keeps {@link #launch} small enough for the JIT to inline.)
   */
  private Buffer upstreamBody(Deployment d, OpenAiCompatible adapter) {
    int ceiling = tokenCeiling(d);
    return BodyRewriter.forUpstream(body, bytes, env, d.upstreamModel(),
        ceiling > 0 ? adapter.tokenLimitField(env.endpoint()) : null, ceiling);
  }

  /**
   * The token ceiling an attempt on {@code d} must carry: the lower of the caller's key's and the
   * deployment's model's {@code max_tokens}, or -1 when neither has one or the request is not a
   * generation. A request that sets its own limit was already held to it by admission; one that
   * sets none would otherwise let the provider generate as much as it likes.
   */
  private int tokenCeiling(Deployment d) {
    if (env.endpoint() == Endpoint.EMBEDDINGS) {
      return -1;
    }
    return Admission.tokenCeiling(d.maxTokens(), ticket.apiKey());
  }

  private void armHedge(Deployment d) {
    ResilienceConfig.Hedge h = policy.hedge();
    if (!h.enabled() || hedged || hedgeTimer != -1 || committed || plan.order().size() < 2
        || attempts >= policy.retry().maxAttempts()) {
      return;
    }
    long delay;
    if (h.delay() != null) {
      delay = h.delay().toNanos();
    } else {
      var window = d.health().latency(env.stream());
      if (window.size() < h.minSamples()) {
        return;
      }
      delay = window.quantile(0.95);
    }
    if (delay >= deadline.remainingNanos()) {
      return;
    }
    hedgeTimer = ctx.scheduler().schedule(delay, () -> {
      hedgeTimer = -1;
      hedge();
    });
  }

  /** The first attempt is slow to its first byte: start one more elsewhere; the first to commit wins. */
  private void hedge() {
    if (ended || committed || active.size() != 1 || attempts >= policy.retry().maxAttempts()
        || active.get(0).firstByteSeen()) {
      return; // DESIGN.md 4: only an attempt with no first byte yet is hedged
    }
    Picker.Pick p = picker.next(busy());
    if (p == null || p.deployment() == active.get(0).deployment() || !p.permit()) {
      releasePick(p);
      return;
    }
    if (deadline.remainingNanos() < minUsefulNanos(p.deployment()) || !takeBudget(p.deployment())) {
      releasePick(p);
      return;
    }
    hedged = true;
    ctx.telemetry().hedged(env.model(), p.deployment().id());
    launch(p.deployment(), true);
  }

  private List<Deployment> busy() {
    List<Deployment> b = new ArrayList<>(active.size());
    active.forEach(a -> b.add(a.deployment()));
    return b;
  }

  private void releasePick(Picker.Pick p) {
    if (p == null) {
      return;
    }
    if (p.permit()) {
      p.deployment().health().release(true);
    }
    Picker.giveBackSlot(p.deployment());
  }

  private boolean takeBudget(Deployment d) {
    if (!d.health().budget().tryRetry()) {
      return false;
    }
    if (!ctx.globalBudget().tryRetry()) {
      d.health().budget().refund();
      return false;
    }
    return true;
  }

  private long minUsefulNanos(Deployment d) {
    if (policy.retry().minUsefulTime() != null) {
      return policy.retry().minUsefulTime().toNanos();
    }
    long median = d.health().latency(env.stream()).quantile(0.5);
    return Math.max(MIN_USEFUL_FLOOR_NANOS, median);
  }

  @Override
  public HttpServerResponse client() {
    return resp;
  }

  @Override
  public boolean commitReady(Attempt a) {
    if (ended || committed || !active.contains(a)) {
      if (active.remove(a)) {
        returnPermit(a);
        releaseSlot(a, -1, false);
      }
      return false;
    }
    committed = true;
    cancelTimer(hedgeTimer);
    hedgeTimer = -1;
    lastDeployment = a.deployment();
    commitNanos = ctx.clock().getAsLong();
    firstTokenNanos = a.firstTokenNanos();
    overheadMs = ((commitNanos - arrivalNanos) - (a.readyNanos() - a.startNanos())) / 1e6;
    DeploymentHealth h = a.deployment().health();
    long latency = a.readyNanos() - a.startNanos();
    h.recordLatency(env.stream(), latency);
    if (a.settlePermitOnce()) {
      h.onSuccess(latency, true);
      ctx.ledger().permitReturned();
    }
    updateQuota(a.deployment(), a.headers());
    hop(a, String.valueOf(a.status()));
    for (Attempt other : List.copyOf(active)) {
      if (other != a) {
        active.remove(other);
        other.cancel();
        returnPermit(other);
        releaseSlot(other, -1, false);
        hop(other, "cancelled");
      }
    }
    sluiceHeaders(a.deployment());
    resp.putHeader(SluiceHeaders.OVERHEAD_MS, formatMs(Math.max(0, overheadMs)));
    copyProviderHeaders(a.headers());
    if (a.eventStream()) {
      resp.setStatusCode(200);
      resp.putHeader(HttpHeaders.CONTENT_TYPE, EVENT_STREAM);
      resp.putHeader(HttpHeaders.CACHE_CONTROL, NO_CACHE);
      resp.putHeader(SluiceHeaders.ACCEL_BUFFERING, SluiceHeaders.NO);
      resp.setChunked(true);
      return true;
    }
    active.remove(a);
    releaseSlot(a, latency, false);
    usage = Usage.ofAnswer(a.body());
    resp.setStatusCode(a.status());
    String type = a.headers().get(HttpHeaders.CONTENT_TYPE);
    resp.putHeader(HttpHeaders.CONTENT_TYPE, type == null ? JSON : type);
    resp.end(a.body());
    end(Outcome.SUCCESS, a.status(), null, null);
    return true;
  }

  @Override
  public void failed(Attempt a, Failure f) {
    if (!active.remove(a)) {
      return;
    }
    Deployment d = a.deployment();
    try {
      recordHealth(a, f);
      decideAfter(a, d, f);
    } finally {
      // only now may queued requests take the slot: this request's retry had the first claim
      d.limiter().wake();
    }
  }

  private void decideAfter(Attempt a, Deployment d, Failure f) {
    hop(a, label(f));
    if (ended) {
      return;
    }
    if (f.kind() == Failure.Kind.TIMEOUT && f.guard() == Guard.DEADLINE) {
      deadlineFired(); // Vert.x's connect backstop won a race with the deadline timer
      return;
    }
    if (!active.isEmpty()) {
      return; // a hedge is still running; it decides
    }
    cancelTimer(hedgeTimer);
    hedgeTimer = -1;
    GiveUp why = retry(f);
    if (why == null) {
      return;
    }
    if (why != GiveUp.NOT_RETRYABLE) {
      String reason = why.name().toLowerCase(Locale.ROOT);
      ctx.telemetry().retrySkipped(env.model(), reason);
      if (!resp.headWritten()) {
        resp.putHeader(SluiceHeaders.RETRY_SKIPPED, reason);
      }
    }
    respondFailure(d, f);
  }

  /** Starts the next attempt (now, or after a backoff) and returns null, or says why not. */
  private GiveUp retry(Failure f) {
    if (Retryable.classify(f) == null || !policy.retry().on().contains(Retryable.classify(f))) {
      return GiveUp.NOT_RETRYABLE;
    }
    if (attempts >= policy.retry().maxAttempts()) {
      return GiveUp.MAX_ATTEMPTS;
    }
    Picker.Pick p = picker.next(List.of());
    if (p == null) {
      return GiveUp.NO_CAPACITY;
    }
    Deployment next = p.deployment();
    int tries = picker.timesTried(next);
    long delay = tries > 0 ? backoff.delayNanos(tries) : 0;
    if (policy.retry().honorRetryAfter()) {
      delay = Math.max(delay, next.health().cooldownRemainingNanos());
    }
    if (deadline.remainingNanos() - delay < minUsefulNanos(next)) {
      releasePick(p);
      return GiveUp.DEADLINE;
    }
    if (!takeBudget(next)) {
      releasePick(p);
      return GiveUp.BUDGET;
    }
    ctx.telemetry().retried(env.model(), next.id());
    if (delay <= 0) {
      launch(next, p.permit());
    } else {
      pending = p;
      backoffTimer = ctx.scheduler().schedule(delay, () -> {
        backoffTimer = -1;
        Picker.Pick go = pending;
        pending = null;
        if (ended) {
          releasePick(go);
        } else {
          launch(go.deployment(), go.permit());
        }
      });
    }
    return null;
  }

  /** The attempt waiting out a backoff, holding its breaker permit; released if the request ends first. */
  private Picker.Pick pending;

  private void hop(Attempt a, String result) {
    int i = a.number() - 1;
    if (i >= 0 && i < hops.size() && hops.get(i).indexOf(':') < 0) {
      hops.set(i, hops.get(i) + ":" + result);
      Deployment d = a.deployment();
      ctx.telemetry().attemptEnded(env.model(), d.id(), d.provider().name(), result,
          ctx.clock().getAsLong() - a.startNanos());
    }
  }

  private String trail() {
    return String.join(", ", hops);
  }

  private void recordHealth(Attempt a, Failure f) {
    DeploymentHealth h = a.deployment().health();
    long duration = ctx.clock().getAsLong() - a.startNanos();
    if (f.kind() == Failure.Kind.STATUS) {
      updateQuota(a.deployment(), f.headers());
      if (f.status() == 429 && policy.retry().honorRetryAfter()) {
        h.coolDown(retryAfterNanos(f.headers()));
      }
    }
    boolean overload = Retryable.countsAgainstHealth(f) || (f.kind() == Failure.Kind.STATUS && f.status() == 429);
    if (a.settlePermitOnce()) {
      if (Retryable.countsAgainstHealth(f)) {
        h.onFailure(duration, new IllegalStateException(label(f)), true);
      } else {
        h.release(true);
      }
      ctx.ledger().permitReturned();
    }
    // quietly: this request's retry has the first claim on the slot (see the caller)
    releaseSlotQuietly(a, overload ? duration : -1, overload);
  }

  private void returnPermit(Attempt a) {
    if (a.settlePermitOnce()) {
      a.deployment().health().release(true);
      ctx.ledger().permitReturned();
    }
  }

  /**
   * Gives an attempt's concurrency slot back, once, with a latency sample for the deployment's
   * adaptive limit: time to first token for streams, to the answer otherwise; none when cancelled.
   */
  private void releaseSlot(Attempt a, long rttNanos, boolean dropped) {
    if (releaseSlotQuietly(a, rttNanos, dropped)) {
      a.deployment().limiter().wake();
    }
  }

  /** The same without waking the deployment's queue; true when the slot was still held. */
  private boolean releaseSlotQuietly(Attempt a, long rttNanos, boolean dropped) {
    if (!a.releaseSlotOnce()) {
      return false;
    }
    a.deployment().limiter().releaseQuietly(a.startNanos(), rttNanos, dropped,
        ctx.clock().getAsLong() - a.startNanos());
    ctx.ledger().slotReturned();
    return true;
  }

  private void updateQuota(Deployment d, MultiMap h) {
    if (h == null || !policy.quota().enabled()) {
      return;
    }
    String rr = h.get(SluiceHeaders.RATELIMIT_REMAINING_REQUESTS);
    String rt = h.get(SluiceHeaders.RATELIMIT_REMAINING_TOKENS);
    if (rr == null && rt == null) {
      return;
    }
    d.health().quota().update(rr, h.get(SluiceHeaders.RATELIMIT_RESET_REQUESTS), rt, h.get(SluiceHeaders.RATELIMIT_RESET_TOKENS),
        policy.quota().minRemainingRequests(), policy.quota().minRemainingTokens());
  }

  private static long retryAfterNanos(MultiMap h) {
    String v = h == null ? null : h.get(HttpHeaders.RETRY_AFTER);
    if (v != null) {
      try {
        return (long) (Double.parseDouble(v.trim()) * 1e9);
      } catch (NumberFormatException e) {
        // an HTTP date is possible but rare from LLM providers; use the default
      }
    }
    return 1_000_000_000L;
  }

  private static String label(Failure f) {
    return switch (f.kind()) {
      case STATUS -> String.valueOf(f.status());
      case TIMEOUT -> f.guard().wireName();
      case CONNECT -> "connect_error";
      case RESET -> "reset";
      case PROTOCOL -> "protocol_error";
      case STREAM_ERROR -> "stream_error";
    };
  }

  @Override
  public void finished(Attempt a, Failure truncation) {
    active.remove(a);
    releaseSlot(a, a.firstTokenNanos() < 0 ? -1 : a.firstTokenNanos() - a.startNanos(), false);
    usage = a.usage();
    if (ended) {
      return;
    }
    if (truncation == null) {
      resp.end();
      end(Outcome.SUCCESS, 200, null, null);
      return;
    }
    if (truncation.kind() == Failure.Kind.RESET || truncation.kind() == Failure.Kind.TIMEOUT) {
      // the provider broke a stream it had started: that is its health too, though the call was
      // recorded as a success at its first token
      a.deployment().health().lateFailure(ctx.clock().getAsLong() - a.startNanos(), label(truncation));
    }
    ApiError e = truncationError(a.deployment(), truncation);
    if (!a.endedWithProviderError()) {
      resp.write((a.midEvent() ? "\n\n" : "") + e.toSseEvent());
    }
    resp.end();
    end(Outcome.TRUNCATED, 200, e.type(), e.message());
  }

  // ---- answers -----------------------------------------------------------------------------

  private ApiError truncationError(Deployment d, Failure f) {
    if (f.kind() == Failure.Kind.TIMEOUT) {
      return timeoutError(d, f.guard(), f.limitNanos(), "stream_truncated");
    }
    return new ApiError(502, "upstream_error", "stream_truncated",
        null, "the stream from " + d.id() + " broke before it finished: " + f.message());
  }

  private void respondFailure(Deployment d, Failure f) {
    switch (f.kind()) {
      case TIMEOUT -> fail(timeoutError(d, f.guard(), f.limitNanos(), "timeout"), Outcome.TIMEOUT);
      case CONNECT -> fail(new ApiError(502, "upstream_connect_error", "upstream_unreachable", null,
          "could not connect to deployment " + d.id() + ": " + f.message()), Outcome.UNAVAILABLE);
      case RESET -> fail(new ApiError(502, "upstream_error", "upstream_reset", null,
          "the connection to deployment " + d.id() + " broke: " + f.message()), Outcome.UPSTREAM_ERROR);
      case PROTOCOL -> fail(new ApiError(502, "upstream_error", "upstream_protocol_error", null,
          "deployment " + d.id() + " sent an invalid answer: " + f.message()), Outcome.UPSTREAM_ERROR);
      case STREAM_ERROR -> passThrough(d, 502, null, f.body(), true);
      case STATUS -> {
        if (f.status() == 401 || f.status() == 403 || f.status() == 407) {
          // the operator's credentials for this provider were refused: not the client's key, and the
          // provider's message may echo part of ours
          LOG.warn("deployment {} refused the gateway's credentials ({}): {}", d.id(), f.status(),
              f.body() == null ? "" : truncate(f.body().toString(), 300));
          resp.putHeader(SluiceHeaders.UPSTREAM_STATUS, String.valueOf(f.status()));
          fail(new ApiError(502, "upstream_auth_error", "upstream_auth_error", null,
              "deployment " + d.id() + " refused the gateway's credentials for it; the operator must check its key"),
              Outcome.UPSTREAM_ERROR);
        } else {
          passThrough(d, f.status(), f.headers(), f.body(), false);
        }
      }
    }
  }

  private ApiError timeoutError(Deployment d, Guard guard, long limitNanos, String code) {
    String message = guard.describe(Durations.formatNanos(limitNanos)) + " (deployment " + d.id() + ")";
    return new ApiError(504, guard.wireName(), code, null, message);
  }

  /** A provider's own error goes to the client as it is, with its status. */
  private void passThrough(Deployment d, int status, MultiMap upstreamHeaders, Buffer errorBody, boolean events) {
    if (ended) {
      return;
    }
    sluiceHeaders(d);
    // an error event came inside a 200 stream: the provider's own status was 200
    resp.putHeader(SluiceHeaders.UPSTREAM_STATUS, events ? "200" : String.valueOf(status));
    copyProviderHeaders(upstreamHeaders);
    Buffer out = errorBody;
    // for an error event before the first token, errorBody is the event's own JSON
    String type = upstreamHeaders == null ? null : upstreamHeaders.get(HttpHeaders.CONTENT_TYPE);
    boolean json = errorBody != null && errorBody.length() > 0
        && (type == null || type.contains("json")) && errorBody.getByte(0) == '{';
    String message = "deployment " + d.id() + " answered " + status;
    if (!json) {
      out = Buffer.buffer(new ApiError(status, "upstream_error", "upstream_status_" + status, null,
          message + (errorBody == null || errorBody.length() == 0 ? "" : ": " + truncate(errorBody.toString(), 500)))
          .toJson());
    }
    if (!resp.headWritten() && !resp.closed()) {
      resp.setStatusCode(status);
      resp.putHeader(HttpHeaders.CONTENT_TYPE, JSON);
      resp.end(out);
    }
    end(Outcome.UPSTREAM_ERROR, status, "upstream_status_" + status, message);
  }

  private void fail(ApiError e, Outcome outcome) {
    if (ended) {
      return;
    }
    if (lastDeployment != null) {
      sluiceHeaders(lastDeployment);
    }
    ErrorResponder.send(resp, e);
    end(outcome, e.status(), e.type(), e.message());
  }

  private void deadlineFired() {
    if (ended || streamWasComplete()) {
      return;
    }
    boolean midEvent = committed && active.stream().anyMatch(Attempt::midEvent);
    cancelAll();
    ApiError e = new ApiError(504, Guard.DEADLINE.wireName(), committed ? "stream_truncated" : "timeout", null,
        Guard.DEADLINE.describe(Durations.formatNanos(deadline.budgetNanos()))
            + " (set by " + deadline.source().name().toLowerCase(Locale.ROOT) + ")");
    if (committed) {
      resp.write((midEvent ? "\n\n" : "") + e.toSseEvent());
      resp.end();
      end(Outcome.TRUNCATED, 200, e.type(), e.message());
    } else {
      fail(e, Outcome.TIMEOUT);
    }
  }

  /**
   * The gateway is stopping and its drain period is over: the request ends like one whose deadline
   * fired (a 503 before the commit point, the final error event after it), not with a cut
   * connection that the log would then blame on the client. Called on the request's event loop.
   */
  @Override
  protected void gatewayStopping() {
    if (ended || streamWasComplete()) {
      return;
    }
    boolean midEvent = committed && active.stream().anyMatch(Attempt::midEvent);
    cancelAll();
    ApiError e = new ApiError(503, "shutting_down", committed ? "stream_truncated" : "shutting_down", null,
        "the gateway is shutting down and its drain period ended before this request did");
    if (committed) {
      resp.write((midEvent ? "\n\n" : "") + e.toSseEvent());
      resp.end();
      end(Outcome.TRUNCATED, 200, e.type(), e.message());
    } else {
      fail(e, Outcome.UNAVAILABLE);
    }
  }

  /**
   * The committed stream had already ended in [DONE] (its provider left the exchange open, or has not
   * closed it yet when a client that stops reading at [DONE] leaves): it ends cleanly.
   */
  private boolean streamWasComplete() {
    return committed && !active.isEmpty() && active.get(0).endIfComplete();
  }

  private void clientClosed() {
    if (ended || streamWasComplete()) {
      return;
    }
    cancelAll();
    end(Outcome.CLIENT_CLOSED, 499, "client_closed", "the client closed the connection");
  }

  private void cancelAll() {
    for (Attempt a : List.copyOf(active)) {
      a.cancel();
      returnPermit(a);
      releaseSlot(a, -1, false);
      hop(a, "cancelled");
    }
    active.clear();
  }

  private void sluiceHeaders(Deployment d) {
    if (resp.headWritten()) {
      return;
    }
    resp.putHeader(SluiceHeaders.PROVIDER, d.provider().name());
    resp.putHeader(SluiceHeaders.DEPLOYMENT, headerSafe(d.id()));
    resp.putHeader(SluiceHeaders.ATTEMPTS, headerSafe(attempts + " (" + trail() + ")"));
    if (hedged) {
      resp.putHeader(SluiceHeaders.HEDGED, SluiceHeaders.TRUE);
    }
  }

  private void copyProviderHeaders(MultiMap upstream) {
    if (upstream == null || resp.headWritten()) {
      return;
    }
    for (Map.Entry<String, String> h : upstream) {
      String k = h.getKey();
      boolean keyQuota = ticket.apiKey() != null && (ticket.apiKey().rpm() > 0 || ticket.apiKey().tpm() > 0);
      if ((!keyQuota && k.regionMatches(true, 0, "x-ratelimit-", 0, 12)) || k.equalsIgnoreCase("retry-after")
          || k.regionMatches(true, 0, "openai-", 0, 7)) {
        resp.headers().add(k, h.getValue());
      } else if (k.equalsIgnoreCase("x-request-id")) {
        resp.putHeader(SluiceHeaders.UPSTREAM_REQUEST_ID, h.getValue());
      }
    }
  }

  private void cancelTimer(long id) {
    if (id != -1) {
      ctx.scheduler().cancel(id);
    }
  }

  private void end(Outcome outcome, int status, String errorType, String errorMessage) {
    if (ended) {
      return;
    }
    ended = true;
    over = true;
    ctx.running().remove(this);
    if (queued) {
      queued = false;
      plan.group().queue().remove(waiter);
      ctx.ledger().dequeued();
    }
    // an answer that never came used no tokens; one that came without a usage report keeps its estimate
    boolean answered = outcome == Outcome.SUCCESS || outcome == Outcome.TRUNCATED || committed;
    ticket.release(answered ? usage.total() : 0);
    cancelTimer(deadlineTimer);
    deadlineTimer = -1;
    cancelTimer(queueTimer);
    queueTimer = -1;
    cancelTimer(hedgeTimer);
    hedgeTimer = -1;
    cancelTimer(backoffTimer);
    backoffTimer = -1;
    releasePick(pending);
    pending = null;
    long now = ctx.clock().getAsLong();
    Deployment d = lastDeployment;
    ctx.ledger().requestClosed();
    ctx.recorder().record(RequestRecord.builder()
        .id(requestId).start(startEpochMillis).endpoint(env.endpoint().label()).model(env.model())
        .provider(d == null ? null : d.provider().name()).deployment(d == null ? null : d.id())
        .status(status).outcome(outcome).error(errorType, errorMessage)
        .latencyMs((now - arrivalNanos) / 1e6)
        .firstTokenMs(firstTokenNanos < 0 ? -1 : (firstTokenNanos - arrivalNanos) / 1e6)
        .attempts(attempts).route(trail()).hedged(hedged).stream(env.stream())
        .tokens(usage.promptTokens(), usage.completionTokens())
        .key(ticket.apiKey() == null ? null : ticket.apiKey().id()).priority(ticket.priority().label())
        .deadlineMs(deadline.bounded() ? deadline.budgetNanos() / 1e6 : -1).overheadMs(overheadMs)
        .build());
  }

  /** A header value built from names (a pass-through id is the client's text): printable ASCII only. */
  static String headerSafe(String v) {
    StringBuilder sb = null;
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        if (sb == null) {
          sb = new StringBuilder(v.length()).append(v, 0, i);
        }
        sb.append('?');
      } else if (sb != null) {
        sb.append(c);
      }
    }
    return sb == null ? v : sb.toString();
  }

  private static String formatMs(double ms) {
    long micros = Math.round(ms * 1000);
    StringBuilder sb = new StringBuilder(12).append(micros / 1000).append('.');
    long frac = micros % 1000;
    if (frac < 100) {
      sb.append('0');
    }
    if (frac < 10) {
      sb.append('0');
    }
    return sb.append(frac).toString();
  }

  private static String truncate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "...";
  }
}
