package dev.sluice.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;

/**
 * A tiny server inside the generator that its lanes send their first requests to before the
 * timetable starts, so that loading and compiling the generator's own request path (HTTP client,
 * SSE reader, recorders) does not happen on the clock. Without it, a fresh {@code sluice bench}
 * started its first second a hundred or more milliseconds behind its own timetable, even at 50
 * requests a second, and that lateness is counted in every latency (they are measured from the
 * intended send time). The target sees none of these requests: they cost no tokens and no quota.
 *
 * <p>It answers every POST like a chat-completions endpoint: a short JSON answer, or for a request
 * that accepts {@code text/event-stream} a short stream of stamped chunks ending in
 * {@code [DONE]}, which exercises the same reading and recording code as a real run.
 */
final class SelfWarm {
  /** Streamed chunks per warm-up stream. */
  static final int CHUNKS = 4;
  private static final Buffer ANSWER = Buffer.buffer("{\"id\":\"warm\",\"object\":\"chat.completion\",\"model\":\"warm\","
      + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"warm\"},\"finish_reason\":\"stop\"}],"
      + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}");

  private SelfWarm() {}

  /** Starts the server on an ephemeral loopback port; close it once the lanes are warm. */
  static Future<HttpServer> serve(Vertx vertx) {
    return vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(SelfWarm::answer)
        .listen();
  }

  private static void answer(HttpServerRequest req) {
    req.body().onComplete(ar -> {
      String accept = req.getHeader(HttpHeaders.ACCEPT);
      if (accept != null && accept.contains("text/event-stream")) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < CHUNKS; i++) {
          sb.append("data: {\"id\":\"warm\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,")
              .append("\"delta\":{\"content\":\"w\"}}],\"x_sim_ns\":").append(System.nanoTime()).append("}\n\n");
        }
        sb.append("data: [DONE]\n\n");
        req.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream").end(sb.toString());
      } else {
        req.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(ANSWER);
      }
    });
  }
}
