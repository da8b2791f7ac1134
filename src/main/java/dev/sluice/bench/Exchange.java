package dev.sluice.bench;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.RequestOptions;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * One request of the run, on its lane's event loop: obtains a connection, sends the body, reads
 * the answer (a stream chunk by chunk), and records exactly one outcome. Every time is taken from
 * the request's intended send instant, not from when it actually left, so a late generator or a
 * slow server cannot hide queueing (no coordinated omission).
 */
final class Exchange implements StreamReader.Listener {
  private final Vertx vertx;
  private final HttpClient client;
  private final RequestOptions options;
  private final Buffer body;
  private final boolean stream;
  private final long intendedNanos;
  private final long timeoutNanos;
  private final Recorder rec;
  private final LongSupplier clock;
  private final Consumer<Boolean> onDone;

  private HttpClientRequest request;
  private StreamReader reader;
  private int status;
  private long timer = -1;
  private boolean finished;

  Exchange(Vertx vertx, HttpClient client, RequestOptions options, Buffer body, boolean stream, long intendedNanos,
      long timeoutNanos, Recorder rec, LongSupplier clock, Consumer<Boolean> onDone) {
    this.vertx = vertx;
    this.client = client;
    this.options = options;
    this.body = body;
    this.stream = stream;
    this.intendedNanos = intendedNanos;
    this.timeoutNanos = timeoutNanos;
    this.rec = rec;
    this.clock = clock;
    this.onDone = onDone;
  }

  void start() {
    long startedAt = clock.getAsLong();
    rec.started(startedAt - intendedNanos);
    // the timeout runs from the intended send, as every time here does: a late start has less left
    long left = timeoutNanos - (startedAt - intendedNanos);
    if (left <= 0) {
      fail("timeout"); // never sent
      return;
    }
    timer = vertx.setTimer(Math.max(1, left / 1_000_000), t -> {
      timer = -1;
      if (!finished) {
        fail("timeout");
        if (request != null) {
          request.reset();
        }
      }
    });
    client.request(options).onComplete(ar -> {
      if (finished) {
        if (ar.succeeded()) {
          ar.result().reset(); // timed out while waiting for a connection: never send it
        }
        return;
      }
      if (ar.failed()) {
        fail("connect_error");
        return;
      }
      request = ar.result();
      rec.sent(clock.getAsLong() - startedAt);
      request.send(body).onComplete(rar -> {
        if (finished) {
          return;
        }
        if (rar.failed()) {
          fail("io_error");
        } else {
          onResponse(rar.result());
        }
      });
    });
  }

  private void onResponse(HttpClientResponse resp) {
    status = resp.statusCode();
    boolean success = status >= 200 && status < 300;
    if (stream && success) {
      reader = new StreamReader(this);
      resp.handler(buf -> {
        long arrived = clock.getAsLong(); // before the copy: the bytes are here now
        reader.feed(buf.getBytes(), arrived);
      });
    } else {
      resp.handler(buf -> { }); // the body is read and dropped; only its end matters
    }
    resp.exceptionHandler(t -> {
      if (!finished) {
        fail(reader != null ? "truncated" : "io_error");
      }
    });
    resp.endHandler(v -> end());
  }

  private void end() {
    if (finished) {
      return;
    }
    long now = clock.getAsLong();
    boolean success = status >= 200 && status < 300;
    String reason = null;
    if (!success) {
      reason = "http_" + status;
    } else if (reader != null && !reader.cleanEnd()) {
      reason = reader.sawError() ? "stream_error" : "truncated";
      success = false;
    }
    rec.completed(success, now - intendedNanos, now);
    if (reason != null) {
      rec.error(reason);
    }
    finish(success);
  }

  private void fail(String reason) {
    rec.error(reason);
    finish(false);
  }

  private void finish(boolean success) {
    finished = true;
    if (timer != -1) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
    onDone.accept(success);
  }

  @Override
  public void firstText(long arrivalNanos) {
    rec.firstText(arrivalNanos - intendedNanos);
  }

  @Override
  public void chunkDelay(long nanos) {
    rec.chunkDelay(nanos);
  }
}
