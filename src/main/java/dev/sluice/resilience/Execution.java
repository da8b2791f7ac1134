package dev.sluice.resilience;

import dev.sluice.config.Durations;
import dev.sluice.deadline.Deadline;
import dev.sluice.deadline.Guard;
import dev.sluice.deadline.Scheduler;
import dev.sluice.envelope.BodyRewriter;
import dev.sluice.envelope.Envelope;
import dev.sluice.errors.ApiError;
import dev.sluice.errors.ErrorResponder;
import dev.sluice.provider.UpstreamClients;
import dev.sluice.provider.UpstreamRequest;
import dev.sluice.provider.openai.OpenAiCompatible;
import dev.sluice.routing.Deployment;
import dev.sluice.routing.RoutePlan;
import dev.sluice.telemetry.Ledger;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.Recorder;
import dev.sluice.telemetry.RequestRecord;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Runs a request's attempts against its route plan within its deadline, commits the first answer,
 * and ends the request exactly once: answered, failed, timed out, truncated or abandoned by the
 * client. It owns the request's deadline timer and the client's close handler; everything the
 * request took is given back in {@link #end}.
 *
 * <p>Lives on the event loop of the client's connection; not thread-safe.
 */
public final class Execution implements Attempt.Owner {
  /** What an execution needs from the gateway around it. */
  public record Context(
      LongSupplier clock,
      Scheduler scheduler,
      Ledger ledger,
      Recorder recorder,
      Map<String, OpenAiCompatible> adapters,
      UpstreamClients clients) {}

  private static final CharSequence EVENT_STREAM = HttpHeaders.createOptimized("text/event-stream; charset=utf-8");
  private static final CharSequence NO_CACHE = HttpHeaders.createOptimized("no-cache");
  private static final CharSequence JSON = HttpHeaders.createOptimized("application/json");

  private final Context ctx;
  private final HttpServerResponse resp;
  private final Envelope env;
  private final byte[] bytes;
  private final Buffer body;
  private final Deadline deadline;
  private final RoutePlan plan;
  private final long arrivalNanos;
  private final long startEpochMillis;
  private final String requestId;
  private final List<Attempt> active = new ArrayList<>(2);

  private int attempts;
  private Deployment lastDeployment;
  private long deadlineTimer = -1;
  private boolean committed;
  private boolean ended;
  private long commitNanos = -1;
  private long firstTokenNanos = -1;
  private double overheadMs = -1;

  public Execution(Context ctx, HttpServerResponse resp, Envelope env, byte[] bytes, Buffer body, Deadline deadline,
      RoutePlan plan, long arrivalNanos, long startEpochMillis, String requestId) {
    this.ctx = ctx;
    this.resp = resp;
    this.env = env;
    this.bytes = bytes;
    this.body = body;
    this.deadline = deadline;
    this.plan = plan;
    this.arrivalNanos = arrivalNanos;
    this.startEpochMillis = startEpochMillis;
    this.requestId = requestId;
  }

  /** Takes over the request (the ledger's request count is already taken by the edge). */
  public void start() {
    resp.closeHandler(v -> clientClosed());
    resp.exceptionHandler(t -> clientClosed());
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
    launch(plan.primary());
  }

  private void launch(Deployment d) {
    attempts++;
    lastDeployment = d;
    Buffer upstreamBody = BodyRewriter.forUpstream(body, bytes, env, d.upstreamModel());
    long remaining = deadline.remainingNanos();
    // Vert.x's own connect timeout is only a backstop, set just behind the gateway's timers (the
    // connect guard, the deadline): those were armed first, so they fire first and name the cause
    long connectMs = (Math.min(d.timeouts().connect().toNanos(), remaining) + 999_999) / 1_000_000 + 1;
    UpstreamRequest r = ctx.adapters().get(d.provider().name())
        .request(env.endpoint(), env.stream(), upstreamBody, remaining, connectMs, requestId);
    Attempt a = new Attempt(this, d, ctx.clients().client(d.provider().name()), r, deadline, env.stream(),
        ctx.scheduler(), ctx.ledger(), attempts);
    active.add(a);
    a.start();
  }

  @Override
  public HttpServerResponse client() {
    return resp;
  }

  @Override
  public boolean commitReady(Attempt a) {
    if (ended || committed) {
      return false;
    }
    committed = true;
    lastDeployment = a.deployment();
    commitNanos = ctx.clock().getAsLong();
    firstTokenNanos = a.firstTokenNanos();
    overheadMs = ((commitNanos - arrivalNanos) - (a.readyNanos() - a.startNanos())) / 1e6;
    for (Attempt other : List.copyOf(active)) {
      if (other != a) {
        active.remove(other);
        other.cancel();
      }
    }
    sluiceHeaders(a.deployment());
    resp.putHeader("x-sluice-overhead-ms", String.format(java.util.Locale.ROOT, "%.3f", Math.max(0, overheadMs)));
    copyProviderHeaders(a.headers());
    if (a.eventStream()) {
      resp.setStatusCode(200);
      resp.putHeader(HttpHeaders.CONTENT_TYPE, EVENT_STREAM);
      resp.putHeader(HttpHeaders.CACHE_CONTROL, NO_CACHE);
      resp.putHeader("x-accel-buffering", "no");
      resp.setChunked(true);
      return true;
    }
    active.remove(a);
    resp.setStatusCode(a.status());
    String type = a.headers().get(HttpHeaders.CONTENT_TYPE);
    resp.putHeader(HttpHeaders.CONTENT_TYPE, type == null ? JSON : type);
    resp.end(a.body());
    end(Outcome.SUCCESS, a.status(), null, null);
    return true;
  }

  @Override
  public void failed(Attempt a, Failure f) {
    active.remove(a);
    if (ended) {
      return;
    }
    if (f.kind() == Failure.Kind.TIMEOUT && f.guard() == Guard.DEADLINE) {
      deadlineFired();
      return;
    }
    // Retries, hedges and fail-over decide here (they need the remaining budget and the plan).
    respondFailure(a.deployment(), f);
  }

  @Override
  public void finished(Attempt a, Failure truncation) {
    active.remove(a);
    if (ended) {
      return;
    }
    if (truncation == null) {
      resp.end();
      end(Outcome.SUCCESS, 200, null, null);
      return;
    }
    ApiError e = truncationError(a.deployment(), truncation);
    if (!a.endedWithProviderError()) {
      resp.write(e.toSseEvent());
    }
    resp.end();
    end(Outcome.TRUNCATED, 200, e.type(), e.message());
  }

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
      case STREAM_ERROR -> passThrough(d, 502, null, f.body(), Outcome.UPSTREAM_ERROR);
      case STATUS -> passThrough(d, f.status(), f.headers(), f.body(), Outcome.UPSTREAM_ERROR);
    }
  }

  private ApiError timeoutError(Deployment d, Guard guard, long limitNanos, String code) {
    String message = guard.describe(Durations.formatNanos(limitNanos)) + " (deployment " + d.id() + ")";
    return new ApiError(504, guard.wireName(), code, null, message);
  }

  /** A provider's own error goes to the client as it is, with its status. */
  private void passThrough(Deployment d, int status, MultiMap upstreamHeaders, Buffer errorBody, Outcome outcome) {
    if (ended) {
      return;
    }
    sluiceHeaders(d);
    resp.putHeader("x-sluice-upstream-status", String.valueOf(status));
    copyProviderHeaders(upstreamHeaders);
    Buffer out = errorBody;
    String type = upstreamHeaders == null ? null : upstreamHeaders.get(HttpHeaders.CONTENT_TYPE);
    boolean json = errorBody != null && errorBody.length() > 0
        && (type == null || type.contains("json")) && errorBody.getByte(0) == '{';
    String message = "deployment " + d.id() + " answered " + status;
    if (errorBody != null && errorBody.length() > 0 && errorBody.getByte(0) == 'd') {
      // an error event before the first token: unwrap its JSON
      String s = errorBody.toString().strip();
      int at = s.lastIndexOf("data:");
      String payload = at < 0 ? "" : s.substring(at + 5).strip();
      json = payload.startsWith("{");
      out = Buffer.buffer(payload);
    }
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
    end(outcome, status, "upstream_status_" + status, message);
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
    if (ended) {
      return;
    }
    cancelAll();
    ApiError e = new ApiError(504, Guard.DEADLINE.wireName(), committed ? "stream_truncated" : "timeout", null,
        Guard.DEADLINE.describe(Durations.formatNanos(deadline.budgetNanos()))
            + " (set by " + deadline.source().name().toLowerCase(java.util.Locale.ROOT) + ")");
    if (committed) {
      resp.write(e.toSseEvent());
      resp.end();
      end(Outcome.TRUNCATED, 200, e.type(), e.message());
    } else {
      fail(e, Outcome.TIMEOUT);
    }
  }

  private void clientClosed() {
    if (ended) {
      return;
    }
    cancelAll();
    end(Outcome.CLIENT_CLOSED, 499, "client_closed", "the client closed the connection");
  }

  private void cancelAll() {
    for (Attempt a : List.copyOf(active)) {
      a.cancel();
    }
    active.clear();
  }

  private void sluiceHeaders(Deployment d) {
    if (resp.headWritten()) {
      return;
    }
    resp.putHeader("x-sluice-provider", d.provider().name());
    resp.putHeader("x-sluice-deployment", d.id());
    resp.putHeader("x-sluice-attempts", String.valueOf(attempts));
  }

  private void copyProviderHeaders(MultiMap upstream) {
    if (upstream == null || resp.headWritten()) {
      return;
    }
    for (Map.Entry<String, String> h : upstream) {
      String k = h.getKey();
      if (k.regionMatches(true, 0, "x-ratelimit-", 0, 12) || k.equalsIgnoreCase("retry-after")
          || k.regionMatches(true, 0, "openai-", 0, 7)) {
        resp.headers().add(k, h.getValue());
      } else if (k.equalsIgnoreCase("x-request-id")) {
        resp.putHeader("x-upstream-request-id", h.getValue());
      }
    }
  }

  private void end(Outcome outcome, int status, String errorType, String errorMessage) {
    if (ended) {
      return;
    }
    ended = true;
    if (deadlineTimer != -1) {
      ctx.scheduler().cancel(deadlineTimer);
      deadlineTimer = -1;
    }
    long now = ctx.clock().getAsLong();
    Deployment d = lastDeployment;
    ctx.ledger().requestClosed();
    ctx.recorder().record(new RequestRecord(requestId, startEpochMillis, env.endpoint().label(), env.model(),
        d == null ? null : d.provider().name(), d == null ? null : d.id(), status, outcome, errorType,
        errorMessage, (now - arrivalNanos) / 1e6,
        firstTokenNanos < 0 ? -1 : (firstTokenNanos - arrivalNanos) / 1e6, attempts, env.stream(),
        deadline.bounded() ? deadline.budgetNanos() / 1e6 : -1, overheadMs));
  }

  private static String truncate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "...";
  }
}
