package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.deadline.Scheduler;
import dev.sluice.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A fault of the gateway's own while it reads a request (here a timer that cannot be armed, the
 * first thing the edge schedules) is answered with an OpenAI-shaped 500 at once, releases what the
 * request held, and leaves the gateway serving; before, the client waited for an answer that never
 * came.
 */
class InternalErrorTest {
  @Test
  void aFaultWhileReadingTheRequestIsA500NotAHang() {
    AtomicBoolean fault = new AtomicBoolean();
    try (TestGateway gw = TestGateway.start(TestGateway.SIMPLE, real -> new Scheduler() {
      @Override
      public long schedule(long delayNanos, Runnable task) {
        if (fault.get()) {
          throw new IllegalStateException("injected: no timer");
        }
        return real.schedule(delayNanos, task);
      }

      @Override
      public boolean cancel(long handle) {
        return real.cancel(handle);
      }
    })) {
      fault.set(true);
      HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat(null));
      fault.set(false);

      assertThat(r.statusCode()).isEqualTo(500);
      JsonObject error = new JsonObject(r.body()).getJsonObject("error");
      assertThat(error.getString("type")).isEqualTo("server_error");
      assertThat(error.getString("code")).isEqualTo("internal_error");
      gw.awaitAtRest();
      assertThat(gw.post("/v1/chat/completions", TestGateway.chat(null)).statusCode()).isEqualTo(200);
      gw.awaitAtRest();
    }
  }
}
