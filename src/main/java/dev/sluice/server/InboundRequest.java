package dev.sluice.server;

import dev.sluice.admission.Admission;
import dev.sluice.admission.KeyLimits;
import dev.sluice.admission.Ticket;
import dev.sluice.deadline.BudgetParser;
import dev.sluice.deadline.Deadline;
import dev.sluice.deadline.DeadlinePolicy;
import dev.sluice.envelope.ContentCoding;
import dev.sluice.envelope.Endpoint;
import dev.sluice.envelope.Envelope;
import dev.sluice.errors.ApiError;
import dev.sluice.errors.ErrorResponder;
import dev.sluice.errors.SluiceHeaders;
import dev.sluice.resilience.Execution;
import dev.sluice.resilience.Running;
import dev.sluice.routing.ModelGroup;
import dev.sluice.routing.RoutePlan;
import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edge of an inference request: checks what can be checked from the headers, reads the body
 * within its size limit and the client's budget, reads the envelope, fixes the deadline, finds the
 * model and its route plan, then hands the request to an {@link Execution}. Anything wrong here is
 * answered at once, in OpenAI's error shape, without reaching a provider.
 */
final class InboundRequest extends Running.Member {
  private static final Logger LOG = LoggerFactory.getLogger(InboundRequest.class);
  private final Services s;
  private final Execution.Context execution;
  private final HttpServerRequest req;
  private final HttpServerResponse resp;
  private final Endpoint endpoint;
  private final long arrivalNanos;
  private final long epochMillis;
  private final String requestId;

  private Buffer body;
  private Ticket ticket;
  private long headerBudget = -1;
  private long bodyTimer = -1;
  private boolean done;

  InboundRequest(Services s, Execution.Context execution, HttpServerRequest req, Endpoint endpoint) {
    this.s = s;
    this.req = req;
    this.resp = req.response();
    this.endpoint = endpoint;
    this.arrivalNanos = s.clock().getAsLong();
    this.epochMillis = System.currentTimeMillis();
    this.requestId = RequestIds.fromClient(req.getHeader(SluiceHeaders.REQUEST_ID));
    this.execution = execution;
  }

  void start() {
    try {
      begin();
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  /**
   * A fault of the gateway's own (a bug) in reading or admitting the request: the client gets an
   * answer, a 500, rather than waiting for ever, what the request held is released, and the log says
   * what failed. (Once the request is handed to its execution, that execution's deadline ends it.)
   */
  private void failed(RuntimeException e) {
    LOG.error("request {}: the gateway failed while reading or admitting it", requestId, e);
    reject(new ApiError(500, "server_error", "internal_error", null,
        "the gateway failed to serve this request (an internal error; its log has request id " + requestId + ")"),
        null, true, Outcome.GATEWAY_ERROR);
  }

  private void begin() {
    s.ledger().requestOpened();
    // until it is answered here or handed to its execution, a stop must be able to end it
    execution.running().add(this);
    resp.putHeader(SluiceHeaders.REQUEST_ID, requestId);
    if (req.remoteAddress() == null) {
      // a TCP peer whose address can no longer be read is gone: on io_uring a client that resets
      // right after its request shows this way. It left; it was not refused.
      clientLeft("the client closed the connection before its request was read");
      req.connection().close();
      return;
    }
    Admission.Decision entry = s.admission().enter();
    if (entry.error() != null) {
      shed(entry);
      return;
    }
    ticket = entry.ticket();
    ApiError auth = s.admission().authenticate(ticket, req.getHeader(HttpHeaders.AUTHORIZATION),
        () -> AdminAuth.isLoopback(req));
    if (auth != null) {
      reject(auth, false);
      return;
    }
    String type = req.getHeader(HttpHeaders.CONTENT_TYPE);
    if (type == null || !type.regionMatches(true, 0, "application/json", 0, 16)) {
      reject(new ApiError(415, ApiError.INVALID_REQUEST, "unsupported_media_type", null,
          "Content-Type must be application/json, found " + (type == null ? "none" : "'" + type + "'")), false);
      return;
    }
    String coding = ContentCoding.of(req.getHeader(HttpHeaders.CONTENT_ENCODING));
    if (coding != null) {
      // the body is read as JSON bytes and forwarded as they are: a compressed one would be refused
      // as invalid UTF-8 or JSON, which sends its author looking in the wrong place (RFC 9110 15.5.16)
      resp.putHeader(HttpHeaders.ACCEPT_ENCODING, "identity");
      reject(new ApiError(415, ApiError.INVALID_REQUEST, "unsupported_content_encoding", null,
          "Content-Encoding '" + coding + "' is not supported; send the request body uncompressed"), true);
      return;
    }
    long max = s.config().server().maxBodyBytes();
    String length = req.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (length != null) {
      try {
        if (Long.parseLong(length.trim()) > max) {
          reject(tooLarge(max), true);
          return;
        }
      } catch (NumberFormatException e) {
        reject(ApiError.invalid("invalid_header", "Content-Length", "Content-Length is not a number"), true);
        return;
      }
    }
    if (!readBudget()) {
      return;
    }
    // the body must arrive within the budget known so far; the body's own timeout comes later
    Deadline provisional = s.deadlines().resolve(arrivalNanos, tier(false), headerBudget, -1);
    if (provisional.bounded()) {
      bodyTimer = s.scheduler().schedule(provisional.remainingNanos(), () -> {
        bodyTimer = -1;
        reject(new ApiError(408, ApiError.INVALID_REQUEST, "request_timeout", null,
            "the request body did not arrive within " + dev.sluice.config.Durations.formatNanos(provisional.budgetNanos())), true);
      });
    }
    resp.closeHandler(v -> {
      if (!done) {
        clientLeft("the client closed the connection while sending");
      }
    });
    String expect = req.getHeader(HttpHeaders.EXPECT);
    if (expect != null && expect.equalsIgnoreCase("100-continue")) {
      // only now, with the headers found acceptable, is the client invited to send its body
      resp.writeContinue();
    }
    // a claimed length only sizes the first allocation up to a modest bound; the limit is enforced as bytes arrive
    body = Buffer.buffer(length == null ? 1024 : (int) Math.min(64 << 10, Long.parseLong(length.trim())));
    req.handler(chunk -> {
      if (done) {
        return;
      }
      if (body.length() + chunk.length() > max) {
        reject(tooLarge(max), true);
        return;
      }
      body.appendBuffer(chunk);
    });
    req.exceptionHandler(t -> {
      if (!done) {
        clientLeft("the request failed while sending: " + t.getMessage());
      }
    });
    req.endHandler(v -> {
      if (!done) {
        try {
          onBody();
        } catch (RuntimeException e) {
          failed(e);
        }
      }
    });
  }

  private boolean readBudget() {
    // every line counts: the deadline is the earliest budget the client gave (DESIGN.md 2.1), and a
    // value combined into one line ("20s, 2s") is refused like any other malformed one
    // getAll only when the header is there at all: most requests carry neither
    for (String h : req.getHeader(SluiceHeaders.REQUEST_TIMEOUT) == null ? List.<String>of()
        : req.headers().getAll(SluiceHeaders.REQUEST_TIMEOUT)) {
      long b = BudgetParser.parseHuman(h);
      if (b < 0) {
        reject(ApiError.invalid("invalid_request_timeout", "X-Request-Timeout",
            "X-Request-Timeout must be a positive duration such as 250ms, 2.5s, 30s or 1m; found '" + h + "'"), false);
        return false;
      }
      headerBudget = headerBudget < 0 ? b : Math.min(headerBudget, b);
    }
    for (String g : req.getHeader(SluiceHeaders.GRPC_TIMEOUT) == null ? List.<String>of()
        : req.headers().getAll(SluiceHeaders.GRPC_TIMEOUT)) {
      long grpc = BudgetParser.parseGrpc(g);
      if (grpc < 0) {
        reject(ApiError.invalid("invalid_request_timeout", "grpc-timeout",
            "grpc-timeout must be up to 8 digits and one of H, M, S, m, u, n (e.g. 2500m); found '" + g + "'"), false);
        return false;
      }
      headerBudget = headerBudget < 0 ? grpc : Math.min(headerBudget, grpc);
    }
    return true;
  }

  private void onBody() {
    cancelBodyTimer();
    byte[] bytes = body.getBytes();
    Envelope env;
    try {
      env = s.envelopes().read(bytes, bytes.length, endpoint);
    } catch (ApiError.Rejection r) {
      reject(r.error(), false);
      return;
    }
    Deadline deadline = s.deadlines().resolve(arrivalNanos, tier(env.stream()), headerBudget, env.timeoutNanos());
    Optional<ModelGroup> group = s.registry().find(env.model());
    if (group.isEmpty()) {
      reject(ApiError.modelNotFound(env.model()), env, false);
      return;
    }
    Admission.Decision keyed = s.admission().admitKey(ticket, group.get().name(), env.model(), env.maxTokens(),
        group.get().maxTokens(), Admission.estimateTokens(bytes.length, env.maxTokens(), env.choices()));
    KeyLimits limits = ticket.keyLimits();
    if (limits != null) {
      limits.describe(resp::putHeader);
    }
    if (keyed.error() != null) {
      if (keyed.shedReason() != null) {
        shed(keyed);
      } else {
        reject(keyed.error(), env, false);
      }
      return;
    }
    // a fallback model serves only when the key may use it and the request fits its max_tokens ceiling
    dev.sluice.admission.ApiKey key = ticket.apiKey();
    RoutePlan plan = s.planner().plan(group.get(), g -> (key == null || key.allows(g.name()))
        && (g.maxTokens() <= 0 || env.maxTokens() <= g.maxTokens()));
    done = true;
    execution.running().remove(this);
    resp.closeHandler(null);
    if (env.stream() && req.version() == io.vertx.core.http.HttpVersion.HTTP_1_0) {
      // HTTP/1.0 has no chunked coding: a stream's end is the connection's close, even when the
      // client asked to keep it alive
      resp.endHandler(v -> req.connection().close());
    }
    new Execution(execution, resp, env, bytes, body, deadline, plan, arrivalNanos, epochMillis, requestId, ticket)
        .start();
  }

  private DeadlinePolicy.Tier tier(boolean stream) {
    return stream ? DeadlinePolicy.Tier.INFERENCE_STREAM : DeadlinePolicy.Tier.INFERENCE;
  }

  private static ApiError tooLarge(long max) {
    return new ApiError(413, ApiError.INVALID_REQUEST, "request_too_large", null,
        "request body is larger than the " + max + " bytes this gateway accepts");
  }

  private void reject(ApiError e, boolean closeConnection) {
    reject(e, null, closeConnection);
  }

  private void reject(ApiError e, Envelope env, boolean closeConnection) {
    reject(e, env, closeConnection, Outcome.REJECTED);
  }

  /**
   * The gateway is stopping and its drain period ended while this request's body was still being
   * read: answered 503 like a running request, and recorded as the gateway's doing, not as a client
   * that left when the servers cut its connection.
   */
  @Override
  protected void gatewayStopping() {
    reject(new ApiError(503, "shutting_down", "shutting_down", null,
        "the gateway is shutting down and its drain period ended before this request's body arrived"),
        null, true, Outcome.UNAVAILABLE);
  }

  private void reject(ApiError e, Envelope env, boolean closeConnection, Outcome outcome) {
    if (done) {
      return;
    }
    // over HTTP/2 a stream is refused on its own; closing the connection would kill its neighbours
    boolean close = closeConnection && req.version() != io.vertx.core.http.HttpVersion.HTTP_2;
    if (close && !resp.headWritten()) {
      // the rest of the body is not wanted: do not make the client send it
      resp.putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
    }
    var written = ErrorResponder.send(resp, e);
    finish(outcome, e.status(), env, e.type(), e.message());
    if (close) {
      written.onComplete(v -> req.connection().close());
    } else if (closeConnection) {
      written.onComplete(v -> {
        if (!req.isEnded()) {
          resp.reset(); // stop the client sending the rest of this stream's body
        }
      });
    }
  }

  /** Refused for capacity or rate: counted by reason, with Retry-After. */
  private void shed(Admission.Decision d) {
    s.telemetry().shed(d.shedReason());
    reject(d.error(), false);
  }

  /** The client went away before its request was whole: recorded as client_closed (499). */
  private void clientLeft(String message) {
    finish(Outcome.CLIENT_CLOSED, 499, null, "client_closed", message);
  }

  private void finish(Outcome outcome, int status, Envelope env, String type, String message) {
    if (done) {
      return;
    }
    done = true;
    execution.running().remove(this);
    if (ticket != null) {
      ticket.release(-1);
    }
    cancelBodyTimer();
    s.ledger().requestClosed();
    s.recorder().record(RequestRecord.builder()
        .id(requestId).start(epochMillis).endpoint(endpoint.label()).model(env == null ? null : env.model())
        .key(ticket == null || ticket.apiKey() == null ? null : ticket.apiKey().id())
        .status(status).outcome(outcome).error(type, message)
        .latencyMs((s.clock().getAsLong() - arrivalNanos) / 1e6).stream(env != null && env.stream())
        .build());
  }

  private void cancelBodyTimer() {
    if (bodyTimer != -1) {
      s.scheduler().cancel(bodyTimer);
      bodyTimer = -1;
    }
  }
}
