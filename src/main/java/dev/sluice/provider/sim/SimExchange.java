package dev.sluice.provider.sim;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.SplittableRandom;

/**
 * One simulated answer: decides up front (from its own seeded random stream) whether it hangs,
 * fails, is rate limited or succeeds, then plays that out with real timers over the real socket.
 */
final class SimExchange {
  private static final String[] WORDS = {
      " the", " gateway", " keeps", " time", " for", " every", " request", " and", " each", " stream",
      " finishes", " or", " fails", " on", " schedule", " while", " providers", " answer", " at", " their",
      " own", " pace", " so", " nothing", " hangs", " forever"};

  enum Kind { CHAT, COMPLETIONS, EMBEDDINGS }

  private final Vertx vertx;
  private final HttpServerRequest req;
  private final HttpServerResponse resp;
  private final SimStats stats;
  private final SimModel m;
  private final SplittableRandom rnd;
  private final Kind kind;
  private final String model;
  private final boolean stream;
  private final boolean includeUsage;
  private final int maxTokens;
  private final long id;
  private final int promptTokens;
  private final RequestsPerMinute rpm;

  private boolean finished;
  private boolean holdsSlot;
  private Capacity capacity;
  private long timer = -1;
  private int sent;
  private int outputTokens;
  private int stopAt = -1;
  private boolean resetAtStop;
  private long tokenIntervalNanos;
  private String prefix;
  private String suffix;

  SimExchange(Vertx vertx, HttpServerRequest req, SimStats stats, SimModel m, SplittableRandom rnd, Kind kind,
      String model, boolean stream, boolean includeUsage, int maxTokens, long id, int promptTokens,
      RequestsPerMinute rpm) {
    this.vertx = vertx;
    this.req = req;
    this.resp = req.response();
    this.stats = stats;
    this.m = m;
    this.rnd = rnd;
    this.kind = kind;
    this.model = model;
    this.stream = stream;
    this.includeUsage = includeUsage;
    this.maxTokens = maxTokens;
    this.id = id;
    this.promptTokens = promptTokens;
    this.rpm = rpm;
  }

  private int inputs = 1;
  private int choices = 1;

  /** A chat or completion answer has {@code n} choices, each with the same text, as a request's {@code n} asks. */
  SimExchange withChoices(int n) {
    this.choices = Math.max(1, Math.min(128, n));
    return this;
  }

  /** {@code s}, a choice of index 0, as the choice of index {@code k}. */
  private static String choice(String s, int k) {
    return k == 0 ? s : s.replace("{\"index\":0,", "{\"index\":" + k + ",");
  }

  /** An embeddings answer has one vector per input, as OpenAI's has. */
  SimExchange withInputs(int n) {
    this.inputs = Math.max(1, n);
    return this;
  }

  /** Makes this answer wait for one of the model's generation slots. */
  SimExchange withCapacity(Capacity c) {
    this.capacity = c;
    return this;
  }

  void run() {
    resp.closeHandler(v -> abandon());
    resp.exceptionHandler(t -> abandon()); // HTTP/2: the caller reset this stream
    // every decision is drawn now, in a fixed order, so that a seed replays the same story
    double uHang = rnd.nextDouble();
    double uLimit = rnd.nextDouble();
    double uError = rnd.nextDouble();
    double uStatus = rnd.nextDouble();
    double uMidHang = rnd.nextDouble();
    double uReset = rnd.nextDouble();
    double uSlow = rnd.nextDouble();
    double uStreamError = rnd.nextDouble();
    long firstToken = m.firstToken().sample(rnd);
    int span = Math.max(0, m.maxOutputTokens() - m.minOutputTokens());
    outputTokens = m.minOutputTokens() + (span == 0 ? 0 : rnd.nextInt(span + 1));
    if (maxTokens > 0) {
      outputTokens = Math.min(outputTokens, maxTokens);
    }
    outputTokens = Math.max(1, outputTokens);
    int cut = outputTokens <= 1 ? 1 : 1 + rnd.nextInt(outputTokens - 1);

    if (uHang < m.hangBeforeHeaders()) {
      stats.hang();
      return; // never answer; the caller must give up
    }
    int remaining = Integer.MAX_VALUE;
    if (rpm != null) {
      remaining = rpm.take(System.nanoTime());
      if (remaining < 0) {
        rateLimited(rpm.secondsUntilNext(System.nanoTime()));
        return;
      }
    }
    if (uLimit < m.rateLimitRate()) {
      rateLimited(m.retryAfterSeconds());
      return;
    }
    if (uError < m.errorRate() && !m.errorStatuses().isEmpty()) {
      int status = m.errorStatuses().get((int) (uStatus * m.errorStatuses().size()));
      after(firstToken / 4, () -> error(status, "server_error", "simulated failure"));
      return;
    }
    if (remaining != Integer.MAX_VALUE) {
      resp.putHeader("x-ratelimit-limit-requests", String.valueOf(rpm.limit()));
      resp.putHeader("x-ratelimit-remaining-requests", String.valueOf(remaining));
      resp.putHeader("x-ratelimit-reset-requests", "1s");
    }
    Runnable generate = () -> generate(firstToken, cut, uMidHang, uReset, uSlow, uStreamError);
    if (capacity == null) {
      generate.run();
      return;
    }
    // wait for a generation slot, as an overloaded server queues work; the wait adds to the first token
    io.vertx.core.Context here = vertx.getOrCreateContext();
    capacity.acquire(() -> here.runOnContext(v -> {
      holdsSlot = true;
      if (finished) {
        releaseSlot();
      } else {
        generate.run();
      }
    }));
  }

  private void releaseSlot() {
    if (holdsSlot) {
      holdsSlot = false;
      capacity.release();
    }
  }

  private void generate(long firstToken, int cut, double uMidHang, double uReset, double uSlow, double uStreamError) {
    double pace = m.tokensPerSecond() <= 0 ? 1e9 : m.tokensPerSecond();
    if (stream && uSlow < m.slowStream()) {
      pace /= Math.max(1, m.slowFactor());
    }
    tokenIntervalNanos = (long) (1e9 / pace);
    if (kind == Kind.EMBEDDINGS) {
      after(firstToken, this::embeddings);
    } else if (!stream) {
      long gen = (long) (outputTokens * 1e9 / pace);
      after(firstToken + gen, this::completion);
    } else {
      if (uMidHang < m.hangMidStream()) {
        stopAt = cut;
      } else if (uReset < m.resetMidStream()) {
        stopAt = cut;
        resetAtStop = true;
      }
      long headerDelay = Math.min(m.headerDelayNanos(), firstToken);
      long rest = firstToken - headerDelay;
      boolean failEarly = uStreamError < m.streamError();
      after(headerDelay, () -> {
        startStream();
        after(rest, failEarly ? this::streamError : this::emit);
      });
    }
  }

  private void after(long nanos, Runnable r) {
    if (finished) {
      return;
    }
    if (nanos < 1_000_000) {
      r.run();
    } else {
      timer = vertx.setTimer(nanos / 1_000_000, t -> {
        timer = -1;
        if (!finished) {
          r.run();
        }
      });
    }
  }

  private void abandon() {
    if (!finished) {
      finished = true;
      releaseSlot();
      if (timer != -1) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
      stats.aborted();
      stats.closed();
    }
  }

  private void done() {
    if (!finished) {
      finished = true;
      releaseSlot();
      stats.closed();
    }
  }

  private void rateLimited(long retryAfter) {
    resp.putHeader("retry-after", String.valueOf(retryAfter));
    resp.putHeader("x-ratelimit-remaining-requests", "0");
    resp.putHeader("x-ratelimit-reset-requests", retryAfter + "s");
    error(429, "rate_limit_exceeded", "simulated rate limit; retry after " + retryAfter + "s");
  }

  private void error(int status, String code, String message) {
    stats.countStatus(status);
    String type = status == 429 ? "requests" : status >= 500 ? "server_error" : "invalid_request_error";
    String body = "{\"error\":{\"message\":\"" + message + "\",\"type\":\"" + type + "\",\"param\":null,\"code\":\""
        + code + "\"}}";
    resp.setStatusCode(status).putHeader("content-type", "application/json");
    done();
    resp.end(body);
  }

  private String quotedModel() {
    StringBuilder sb = new StringBuilder();
    JsonStringEncoder.getInstance().quoteAsString(model, sb);
    return sb.toString();
  }

  private String text(int n) {
    StringBuilder sb = new StringBuilder(n * 8);
    for (int i = 0; i < n; i++) {
      sb.append(WORDS[i % WORDS.length]);
    }
    return sb.toString();
  }

  private String usage(int completion) {
    return "{\"prompt_tokens\":" + promptTokens + ",\"completion_tokens\":" + completion + ",\"total_tokens\":"
        + (promptTokens + completion) + "}";
  }

  private void completion() {
    stats.countStatus(200);
    long created = System.currentTimeMillis() / 1000;
    String one = kind == Kind.CHAT
        ? "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + text(outputTokens)
            + "\"},\"finish_reason\":\"stop\"}"
        : "{\"index\":0,\"text\":\"" + text(outputTokens) + "\",\"logprobs\":null,\"finish_reason\":\"stop\"}";
    StringBuilder all = new StringBuilder(choices * one.length());
    for (int k = 0; k < choices; k++) {
      all.append(k == 0 ? "" : ",").append(choice(one, k));
    }
    String body = kind == Kind.CHAT
        ? "{\"id\":\"chatcmpl-sim-" + id + "\",\"object\":\"chat.completion\",\"created\":" + created
            + ",\"model\":\"" + quotedModel() + "\",\"choices\":[" + all + "],\"usage\":" + usage(outputTokens * choices) + "}"
        : "{\"id\":\"cmpl-sim-" + id + "\",\"object\":\"text_completion\",\"created\":" + created
            + ",\"model\":\"" + quotedModel() + "\",\"choices\":[" + all + "],\"usage\":" + usage(outputTokens * choices) + "}";
    resp.putHeader("content-type", "application/json");
    done();
    resp.end(body);
  }

  private void embeddings() {
    stats.countStatus(200);
    StringBuilder sb = new StringBuilder(64 + inputs * (48 + m.embeddingDims() * 10));
    sb.append("{\"object\":\"list\",\"data\":[");
    SplittableRandom v = new SplittableRandom(id);
    for (int k = 0; k < inputs; k++) {
      sb.append(k == 0 ? "" : ",").append("{\"object\":\"embedding\",\"index\":").append(k).append(",\"embedding\":[");
      for (int i = 0; i < m.embeddingDims(); i++) {
        if (i > 0) {
          sb.append(',');
        }
        sb.append(Math.round((v.nextDouble() * 2 - 1) * 1e6) / 1e6);
      }
      sb.append("]}");
    }
    sb.append("],\"model\":\"").append(quotedModel()).append("\",\"usage\":{\"prompt_tokens\":")
        .append(promptTokens).append(",\"total_tokens\":").append(promptTokens).append("}}");
    resp.putHeader("content-type", "application/json");
    done();
    resp.end(sb.toString());
  }

  private void startStream() {
    stats.countStatus(200);
    stats.streamStarted();
    long created = System.currentTimeMillis() / 1000;
    resp.setChunked(true);
    resp.putHeader("content-type", "text/event-stream; charset=utf-8");
    resp.putHeader("cache-control", "no-cache");
    if (kind == Kind.CHAT) {
      String head = "data: {\"id\":\"chatcmpl-sim-" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":"
          + created + ",\"model\":\"" + quotedModel() + "\",\"choices\":[{\"index\":0,\"delta\":{";
      prefix = head + "\"content\":\"";
      suffix = "\"},\"finish_reason\":null}]}\n\n";
      String role = head + "\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n";
      StringBuilder roles = new StringBuilder(choices * role.length());
      for (int k = 0; k < choices; k++) {
        roles.append(choice(role, k));
      }
      resp.write(roles.toString());
    } else {
      prefix = "data: {\"id\":\"cmpl-sim-" + id + "\",\"object\":\"text_completion\",\"created\":" + created
          + ",\"model\":\"" + quotedModel() + "\",\"choices\":[{\"index\":0,\"text\":\"";
      suffix = "\",\"logprobs\":null,\"finish_reason\":null}]}\n\n";
      resp.writeHead();
    }
  }

  private void emit() {
    if (finished) {
      return;
    }
    // timers tick at 1 ms at best: fast paces emit several tokens per tick
    int batch = tokenIntervalNanos >= 1_000_000 ? 1 : (int) Math.min(outputTokens, 1_000_000 / Math.max(1, tokenIntervalNanos));
    StringBuilder sb = new StringBuilder(batch * choices * (prefix.length() + suffix.length() + 40));
    // one instant per write: the chunks of a batch leave together
    long stamp = m.timestamps() ? System.nanoTime() : 0;
    for (int i = 0; i < batch && sent < outputTokens; i++) {
      if (sent == stopAt) {
        break;
      }
      for (int k = 0; k < choices; k++) {
        sb.append(choice(prefix, k)).append(WORDS[sent % WORDS.length]);
        if (m.timestamps()) {
          // the suffix ends with the top-level "}\n\n": the stamp goes in just before it
          sb.append(suffix, 0, suffix.length() - 3).append(",\"x_sim_ns\":").append(stamp).append("}\n\n");
        } else {
          sb.append(suffix);
        }
      }
      sent++;
    }
    if (sb.length() > 0) {
      resp.write(Buffer.buffer(sb.toString()));
    }
    if (sent == stopAt) {
      if (resetAtStop) {
        stats.reset();
        finished = true;
        releaseSlot(); // the closeHandler's abandon() sees finished and would not
        stats.closed();
        if (req.version() == io.vertx.core.http.HttpVersion.HTTP_2) {
          resp.reset(); // only this stream: the connection carries others
        } else {
          req.connection().close();
        }
      } else {
        stats.hang(); // stall mid-stream with the connection open
      }
      return;
    }
    if (sent >= outputTokens) {
      finishStream();
      return;
    }
    if (resp.writeQueueFull()) {
      resp.drainHandler(v -> scheduleNext());
    } else {
      scheduleNext();
    }
  }

  private void scheduleNext() {
    after(Math.max(tokenIntervalNanos, 1_000_000), this::emit);
  }

  /** An error event in place of the first token, as providers do for e.g. a context that is too long. */
  private void streamError() {
    done();
    resp.end(Buffer.buffer("data: {\"error\":{\"message\":\"simulated stream failure (data: none)\","
        + "\"type\":\"server_error\",\"param\":null,\"code\":\"sim_stream_error\"}}\n\n"));
  }

  private void finishStream() {
    StringBuilder sb = new StringBuilder(256);
    String p = prefix.substring(0, prefix.lastIndexOf(kind == Kind.CHAT ? "\"content\":\"" : "\"text\":\""));
    for (int k = 0; k < choices; k++) {
      if (kind == Kind.CHAT) {
        sb.append(choice(p, k)).append("},\"finish_reason\":\"stop\"}]}\n\n");
      } else {
        sb.append(choice(p, k)).append("\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n");
      }
    }
    if (includeUsage) {
      String head = p.substring(0, p.indexOf("\"choices\":"));
      sb.append(head).append("\"choices\":[],\"usage\":").append(usage(outputTokens * choices)).append("}\n\n");
    }
    sb.append("data: [DONE]\n\n");
    stats.streamCompleted();
    done();
    resp.end(Buffer.buffer(sb.toString()));
  }
}
