package dev.sluice.resilience;

import dev.sluice.config.Timeouts;
import dev.sluice.deadline.AttemptGuards;
import dev.sluice.deadline.BudgetParser;
import dev.sluice.deadline.Deadline;
import dev.sluice.deadline.Guard;
import dev.sluice.deadline.Scheduler;
import dev.sluice.envelope.ContentCoding;
import dev.sluice.errors.SluiceHeaders;
import dev.sluice.provider.UpstreamRequest;
import dev.sluice.routing.Deployment;
import dev.sluice.stream.FirstTokenDetector;
import dev.sluice.stream.StreamTail;
import dev.sluice.stream.Usage;
import dev.sluice.telemetry.Ledger;
import io.vertx.core.AsyncResult;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import java.util.function.LongSupplier;

/**
 * One try against one deployment: connect, send, wait for headers (and, for a stream, the first
 * token), then either hand a complete answer to its {@link Owner} or relay the stream to the
 * client after the owner committed it. Every path ends in exactly one of: {@code failed},
 * {@code finished}, or a silent {@link #cancel} by the owner; each releases the attempt's
 * upstream exchange, timers and counters exactly once.
 *
 * <p>Lives on one event loop; not thread-safe.
 */
public final class Attempt implements AttemptGuards.Listener {
  /** Bodies above this are not an LLM answer; refuse rather than buffer without end. */
  static final int MAX_BUFFERED = 64 << 20;
  /** A provider's error body is kept up to this size. */
  static final int MAX_ERROR_BODY = 64 << 10;

  /** The request that runs this attempt. */
  public interface Owner {
    /** A complete answer (non-stream) or a first token (stream) is ready; true if it is committed. */
    boolean commitReady(Attempt attempt);

    /** The attempt failed before its answer was committed. */
    void failed(Attempt attempt, Failure failure);

    /** The committed stream ended: cleanly when {@code truncation} is null. */
    void finished(Attempt attempt, Failure truncation);

    HttpServerResponse client();
  }

  private enum State { CONNECTING, WAITING, RECEIVING, COMMITTED, DONE }

  private static final io.vertx.core.Handler<Throwable> IGNORE = t -> { };
  /**
   * The budget forwarded upstream is computed when the attempt starts; if getting a connection took
   * longer than this, it is computed again before the request is sent (a pooled connection, the
   * usual case, takes microseconds, and the header is not rewritten for them).
   */
  static final long FORWARDED_BUDGET_SLACK_NANOS = 1_000_000;

  private final Owner owner;
  private final Deployment deployment;
  private final HttpClient client;
  private final UpstreamRequest upstream;
  private final boolean stream;
  private final AttemptGuards guards;
  private final Ledger ledger;
  private final LongSupplier clock;
  private final Deadline deadline;
  private final int number;
  private final boolean permit;
  private final Timeouts timeouts;

  private State state = State.CONNECTING;
  private HttpClientRequest request;
  private HttpClientResponse response;
  private boolean upstreamOpen;
  private boolean eventStream;
  private boolean paused;
  private int status;
  private MultiMap headers;
  private Buffer pending;
  private FirstTokenDetector detector;
  private StreamTail tail;
  private long startNanos;
  private long readyNanos;
  private long firstTokenNanos = -1;

  public Attempt(Owner owner, Deployment deployment, HttpClient client, UpstreamRequest upstream, Deadline deadline,
      boolean stream, Timeouts timeouts, Scheduler scheduler, Ledger ledger, int number, boolean permit) {
    this.owner = owner;
    this.deployment = deployment;
    this.client = client;
    this.upstream = upstream;
    this.stream = stream;
    this.ledger = ledger;
    this.clock = deadline.clock();
    this.deadline = deadline;
    this.number = number;
    this.permit = permit;
    this.timeouts = timeouts;
    this.guards = new AttemptGuards(scheduler, timeouts, deadline, stream, this);
  }

  public void start() {
    ledger.attemptOpened();
    deployment.attemptStarted();
    startNanos = clock.getAsLong();
    guards.start();
    if (state == State.DONE) {
      return; // a guard with no time left fired at once
    }
    client.request(upstream.options()).onComplete(this::onConnected);
  }

  private void onConnected(AsyncResult<HttpClientRequest> ar) {
    if (ar.succeeded()) {
      // failures arrive through send()'s future; without a handler Vert.x logs every reset of an
      // unsent request (a client that left, a guard that fired while connecting) as an ERROR
      ar.result().exceptionHandler(IGNORE);
    }
    if (state == State.DONE) {
      if (ar.succeeded()) {
        // connected too late: give the connection up (quietly: a request reset before it was sent
        // reports the reset to its exception handler, and without one Vert.x logs it as an error)
        HttpClientRequest late = ar.result();
        late.exceptionHandler(t -> { });
        late.reset();
      }
      return;
    }
    if (ar.failed()) {
      // Vert.x's backstop timeout: when the request's deadline has passed, that is the cause
      fail(ar.cause() instanceof java.util.concurrent.TimeoutException
          ? deadline.expired()
              ? Failure.timeout(Guard.DEADLINE, deadline.budgetNanos())
              : Failure.timeout(Guard.CONNECT, timeouts.connect().toNanos())
          : Failure.connect(ar.cause()));
      return;
    }
    request = ar.result();
    upstreamOpen = true;
    ledger.upstreamOpened();
    state = State.WAITING;
    guards.connected();
    if (deadline.bounded() && clock.getAsLong() - startNanos > FORWARDED_BUDGET_SLACK_NANOS
        && request.headers().contains(SluiceHeaders.REQUEST_TIMEOUT)) {
      // a wait for a connection (up to the connect guard) came off the budget: send what is left now
      request.putHeader(SluiceHeaders.REQUEST_TIMEOUT, BudgetParser.formatMillis(deadline.remainingNanos()));
    }
    request.send(upstream.body()).onComplete(this::onResponse);
  }

  private void onResponse(AsyncResult<HttpClientResponse> ar) {
    if (state == State.DONE) {
      return;
    }
    if (ar.failed()) {
      fail(Failure.reset(ar.cause()));
      return;
    }
    response = ar.result();
    status = response.statusCode();
    headers = response.headers();
    state = State.RECEIVING;
    guards.headers();
    pending = Buffer.buffer();
    response.exceptionHandler(this::onUpstreamError);
    if (status < 200) {
      // an interim response (102 Processing, ...) that Vert.x handed on as the answer: the real
      // answer is still to come on this connection, which must not carry another exchange
      fail(Failure.protocol("the provider sent an interim " + status + " response as its answer"));
      return;
    }
    String coding = ContentCoding.of(headers.get(HttpHeaders.CONTENT_ENCODING));
    if (coding != null) {
      // asked for identity, and gzip or deflate are decoded on arrival: what is left cannot be read
      // for a first token, usage or an error, nor relayed as the JSON or events it claims to be
      fail(Failure.protocol("the provider answered in content coding '" + coding
          + "', which the gateway cannot decode"));
      return;
    }
    if (status < 200 || status >= 300) {
      response.handler(this::onErrorChunk);
      response.endHandler(v -> {
        closeUpstream();
        fail(Failure.status(status, headers, pending));
      });
      return;
    }
    String type = headers.get(HttpHeaders.CONTENT_TYPE);
    eventStream = stream && type != null && type.regionMatches(true, 0, "text/event-stream", 0, 17);
    if (eventStream) {
      detector = new FirstTokenDetector();
      tail = new StreamTail();
      response.handler(this::onStreamChunk);
      response.endHandler(v -> onStreamEnd());
    } else {
      response.handler(this::onBodyChunk);
      response.endHandler(v -> onBodyEnd());
    }
  }

  private void onErrorChunk(Buffer chunk) {
    guards.activity();
    if (pending.length() < MAX_ERROR_BODY) {
      pending.appendBuffer(chunk, 0, Math.min(chunk.length(), MAX_ERROR_BODY - pending.length()));
    }
  }

  private void onBodyChunk(Buffer chunk) {
    if (state == State.DONE) {
      return;
    }
    guards.activity();
    if (pending.length() + chunk.length() > MAX_BUFFERED) {
      fail(Failure.protocol("the provider's answer is larger than " + (MAX_BUFFERED >> 20) + " MiB"));
      return;
    }
    pending.appendBuffer(chunk);
  }

  private void onBodyEnd() {
    if (state == State.DONE) {
      return;
    }
    closeUpstream();
    readyNanos = clock.getAsLong();
    guards.stop();
    if (owner.commitReady(this)) {
      state = State.DONE;
      release();
    } else {
      cancel();
    }
  }

  private void onStreamChunk(Buffer chunk) {
    if (state == State.DONE) {
      return;
    }
    guards.activity();
    if (state == State.COMMITTED) {
      relay(chunk);
      return;
    }
    pending.appendBuffer(chunk);
    FirstTokenDetector.Signal s = detector.scan(pending);
    switch (s) {
      case NONE -> {
        if (pending.length() > MAX_BUFFERED) {
          fail(Failure.protocol("the provider's stream sent " + (MAX_BUFFERED >> 20) + " MiB without a token"));
        }
      }
      case ERROR -> fail(Failure.streamError(detector.error()));
      case TOKEN, DONE -> {
        readyNanos = clock.getAsLong();
        firstTokenNanos = readyNanos;
        guards.firstToken();
        if (owner.commitReady(this)) {
          state = State.COMMITTED;
          Buffer first = pending;
          pending = null;
          relay(first);
        } else {
          cancel();
        }
      }
    }
  }

  /** A relayed stream holds back at most this much of an event not yet complete. */
  static final int MAX_CARRY = 1 << 20;
  /** The start of an event not yet complete: sent with the rest of it, or dropped if the stream breaks. */
  private Buffer carry;
  /** What the client got ends inside an event (one longer than {@link #MAX_CARRY} was sent in part). */
  private boolean midEvent;

  private void relay(Buffer chunk) {
    tail.update(chunk);
    int carried = carry == null ? 0 : carry.length();
    Buffer data = carry == null ? chunk : carry.appendBuffer(chunk);
    carry = null;
    int cut = afterLastBlankLine(data, Math.max(0, carried - 2));
    Buffer send;
    if (cut == data.length()) {
      send = data;
    } else if (cut > 0) {
      send = data.getBuffer(0, cut);
      carry = data.getBuffer(cut, data.length());
    } else if (data.length() > MAX_CARRY) {
      send = data;
    } else {
      carry = carried == 0 ? data.copy() : data; // the provider's chunk is not ours to grow
      return;
    }
    midEvent = carry == null && cut != data.length();
    HttpServerResponse out = owner.client();
    out.write(send);
    if (!paused && out.writeQueueFull()) {
      // the client reads slower than the provider writes: stop reading the provider until it catches up
      paused = true;
      response.pause();
      guards.pauseIdle();
      out.drainHandler(v -> {
        if (paused && state == State.COMMITTED) {
          paused = false;
          guards.resumeIdle();
          response.resume();
        }
      });
    }
  }

  /** The index just after the last blank line ("\n\n" or "\n\r\n") ending at or after {@code from}, or 0. */
  private static int afterLastBlankLine(Buffer b, int from) {
    for (int i = b.length() - 1; i > from; i--) {
      if (b.getByte(i) == '\n') {
        byte p = b.getByte(i - 1);
        if (p == '\n' || (p == '\r' && i >= 2 && b.getByte(i - 2) == '\n')) {
          return i + 1;
        }
      }
    }
    return 0;
  }

  /** Whether the bytes the client got end inside an event, so a final event must first close it. */
  public boolean midEvent() {
    return midEvent;
  }

  private void onStreamEnd() {
    if (state == State.RECEIVING && detector.scan(pending.appendString("\n\n")) == FirstTokenDetector.Signal.ERROR) {
      // the provider's error event came without its blank line (a token there still ends too early)
      terminate(Failure.streamError(detector.error()), false);
      return;
    }
    endStream(false);
  }

  /** The stream ended, or broke or went silent after its last event; {@code abort} resets the exchange. */
  private void endStream(boolean abort) {
    if (state == State.DONE) {
      return;
    }
    if (state == State.COMMITTED && carry != null && (tail.complete() || tail.endedWithError())) {
      // the provider's last event ([DONE] or its error) came without its blank line: pass it on, ended
      owner.client().write(carry.appendString("\n\n"));
      carry = null;
    }
    if (state == State.COMMITTED) {
      terminate(tail.endedWithError()
          ? Failure.reset(new IllegalStateException("the provider ended its stream with an error event"))
          : tail.complete() ? null : Failure.reset(new IllegalStateException(
              "the provider closed the stream before [DONE]")), abort);
    } else {
      terminate(Failure.protocol("the provider's stream ended before its first token"), abort);
    }
  }

  private void onUpstreamError(Throwable t) {
    breakOff(Failure.reset(t));
  }

  @Override
  public void onExpired(Guard guard, long limitNanos) {
    breakOff(Failure.timeout(guard, limitNanos));
  }

  /**
   * The exchange broke or a guard fired. After the provider's last event, [DONE], that lost nothing
   * (some servers drop the connection, or leave it open, once they have sent it): the stream ended.
   */
  private void breakOff(Failure f) {
    if (!endIfComplete() && state != State.DONE) {
      terminate(f, true);
    }
  }

  /**
   * Ends a committed stream whose provider has sent its last event, [DONE], as {@link Owner#finished
   * finished} cleanly (the exchange reset); false, doing nothing, for any other attempt.
   */
  public boolean endIfComplete() {
    if (state == State.COMMITTED && tail.complete()) {
      endStream(true);
      return true;
    }
    return false;
  }

  /** Ends the attempt without telling the owner (client gone, deadline, a hedge won). Idempotent. */
  public void cancel() {
    if (state == State.DONE) {
      return;
    }
    state = State.DONE;
    guards.stop();
    abortUpstream();
    release();
  }

  private void fail(Failure f) {
    if (state != State.DONE) {
      terminate(f, true);
    }
  }

  /**
   * The one way an attempt ends on its own. The state changes first: resetting the upstream
   * exchange calls its exception handler at once, and that call must find the attempt finished.
   */
  private void terminate(Failure f, boolean abort) {
    State was = state;
    state = State.DONE;
    guards.stop();
    if (abort) {
      abortUpstream();
    } else {
      closeUpstream();
    }
    release();
    if (was == State.COMMITTED) {
      owner.finished(this, f);
    } else {
      owner.failed(this, f);
    }
  }

  private void release() {
    ledger.attemptClosed();
    deployment.attemptEnded();
  }

  private void abortUpstream() {
    if (upstreamOpen) {
      upstreamOpen = false;
      ledger.upstreamClosed();
      request.reset();
    }
  }

  private void closeUpstream() {
    if (upstreamOpen) {
      upstreamOpen = false;
      ledger.upstreamClosed();
    }
  }

  public Deployment deployment() {
    return deployment;
  }

  public int number() {
    return number;
  }

  /** Whether the deployment's breaker gave this attempt a permit (to be recorded or released once). */
  public boolean holdsPermit() {
    return permit;
  }

  private boolean permitSettled;
  private boolean slotReleased;

  /** True the first time only: the caller settles the breaker permit (success, failure or release). */
  boolean settlePermitOnce() {
    if (permitSettled || !permit) {
      return false;
    }
    permitSettled = true;
    return true;
  }

  /** True the first time only: the caller gives the deployment's concurrency slot back. */
  boolean releaseSlotOnce() {
    if (slotReleased) {
      return false;
    }
    slotReleased = true;
    return true;
  }

  public int status() {
    return status;
  }

  public MultiMap headers() {
    return headers;
  }

  /** The complete answer of a non-stream attempt. */
  public Buffer body() {
    return pending;
  }

  public boolean eventStream() {
    return eventStream;
  }

  /** Tokens the provider reported at the end of a stream, when it did. */
  public Usage usage() {
    return tail == null ? Usage.UNKNOWN : Usage.ofStreamTail(tail.bytes());
  }

  public boolean endedWithProviderError() {
    return tail != null && tail.endedWithError();
  }

  public long startNanos() {
    return startNanos;
  }

  /** When the answer (non-stream) or first token (stream) was complete. */
  public long readyNanos() {
    return readyNanos;
  }

  public long firstTokenNanos() {
    return firstTokenNanos;
  }

  /**
   * Whether the provider has produced its first byte in the sense of the guards (DESIGN.md 2.2):
   * response headers for a non-stream request, the first token for a stream. No hedge starts after it.
   */
  public boolean firstByteSeen() {
    return stream ? firstTokenNanos >= 0 : response != null;
  }
}
