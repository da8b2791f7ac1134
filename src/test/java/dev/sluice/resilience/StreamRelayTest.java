package dev.sluice.resilience;

import static dev.sluice.testing.HttpHead.chunk;
import static dev.sluice.testing.ScriptedUpstream.SSE_HEAD;
import static dev.sluice.testing.ScriptedUpstream.pause;
import static dev.sluice.testing.ScriptedUpstream.write;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.telemetry.Outcome;
import dev.sluice.telemetry.RequestRecord;
import dev.sluice.testing.AtRest;
import dev.sluice.testing.Calls;
import dev.sluice.testing.Calls.Call;
import dev.sluice.testing.ScriptedUpstream;
import dev.sluice.testing.ScriptedUpstream.Step;
import dev.sluice.testing.SseEvents;
import dev.sluice.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a client reads of a relayed stream when the provider's bytes arrive cut anywhere: every
 * event it dispatches is whole, a stream that breaks mid-event still ends with a parseable error
 * event, and a provider's own error ending (also vLLM's, an error event then {@code [DONE]}) is
 * not recorded as a success. Parsed as the SSE spec says ({@link SseEvents#dispatched}).
 */
class StreamRelayTest {
  static ScriptedUpstream up;
  static TestGateway gw;

  static final String PREFIX =
      "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\",\"choices\":[{\"index\":0,";
  static final String ROLE = PREFIX + "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n";

  static String content(String t) {
    return PREFIX + "\"delta\":{\"content\":\"" + t + "\"},\"finish_reason\":null}]}\n\n";
  }

  @BeforeAll
  static void start() {
    up = new ScriptedUpstream(b -> List.of());
    gw = TestGateway.start("""
        server: { port: 0, event_loops: 1 }
        store: { url: none }
        resilience: { retry: { max_attempts: 1 }, breaker: { enabled: false } }
        providers:
          up: { type: openai, base_url: "%s" }
        models:
          demo: { deployments: [{ id: up-a, provider: up, model: m, timeouts: { idle: 500ms } }] }
          quick: { deployments: [{ id: up-q, provider: up, model: m, timeouts: { connect: 200ms, first_token: 400ms } }] }
        """.formatted(up.baseUrl()));
  }

  @AfterAll
  static void stop() {
    gw.close();
    up.close();
  }

  @AfterEach
  void atRest() {
    AtRest.check(gw);
  }

  private static Call stream(String model, List<Step> script) {
    up.script(b -> script);
    return Calls.chat(gw, Calls.body(model, "\"stream\":true"), "x-request-timeout", "10s");
  }

  private static String lastEvent(Call c) {
    List<String> events = SseEvents.dispatched(c.body());
    assertThat(events).as("body was:\n%s", c.body()).isNotEmpty();
    return events.get(events.size() - 1);
  }

  @Test
  void aStreamCutMidEventEndsWithAParseableErrorEvent() {
    Call c = stream("demo", List.of(write(SSE_HEAD + chunk(ROLE) + chunk(content("hello"))
        + chunk(PREFIX + "\"delta\":{\"content\":\"wor")), pause(100), new ScriptedUpstream.Reset()));
    assertThat(c.status()).isEqualTo(200);
    String last = lastEvent(c);
    assertThat(last).as("body was:\n%s", c.body()).startsWith("{\"error\"");
    new JsonObject(last);
    assertThat(SseEvents.dispatched(c.body())).allSatisfy(e -> new JsonObject(e));
    assertThat(c.record(gw).outcome()).isEqualTo(Outcome.TRUNCATED);
  }

  @Test
  void aStreamCutAfterADataLineButBeforeItsBlankLineEndsWithAParseableErrorEvent() {
    String half = content("wor");
    Call c = stream("demo", List.of(write(SSE_HEAD + chunk(ROLE) + chunk(content("hello"))
        + chunk(half.substring(0, half.length() - 1))), pause(100), new ScriptedUpstream.Reset()));
    assertThat(c.status()).isEqualTo(200);
    String last = lastEvent(c);
    assertThat(last).as("body was:\n%s", c.body()).startsWith("{\"error\"");
    new JsonObject(last);
  }

  @Test
  void anIdleTimeoutMidEventEndsWithAParseableErrorEvent() {
    Call c = stream("demo", List.of(write(SSE_HEAD + chunk(ROLE) + chunk(content("hello"))
        + chunk(PREFIX + "\"delta\":{\"content\":\"wor")), new ScriptedUpstream.Hang()));
    assertThat(c.status()).isEqualTo(200);
    String last = lastEvent(c);
    assertThat(last).as("body was:\n%s", c.body()).startsWith("{\"error\"").contains("idle_timeout");
    new JsonObject(last);
  }

  @Test
  void aProviderErrorEventFollowedByDoneIsNotRecordedAsASuccess() {
    // vLLM ends a stream that failed with an error event and then "data: [DONE]"
    Call c = stream("demo", List.of(write(SSE_HEAD + chunk(ROLE) + chunk(content("hello"))
        + chunk("data: {\"error\":{\"message\":\"boom\",\"type\":\"internal_error\",\"code\":500}}\n\n")
        + chunk("data: [DONE]\n\n") + "0\r\n\r\n")));
    assertThat(c.status()).isEqualTo(200);
    RequestRecord r = c.record(gw);
    assertThat(r.outcome()).as("the provider said its stream failed").isEqualTo(Outcome.TRUNCATED);
  }

  @Test
  void crlfEventsCommentsUsageAndASplitDoneAreACleanFinish() {
    String crlf = (ROLE + ": ping\n\n" + content("h\u00e9llo \u4e16\u754c")
        + PREFIX + "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        + "data: {\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18}}\n\n")
        .replace("\n", "\r\n");
    byte[] all = (crlf + "data: [DONE]\r\n\r\n").getBytes(StandardCharsets.UTF_8);
    // chunks of 7 bytes: through data: prefixes, CRLF pairs, multi-byte characters and [DONE]
    StringBuilder chunks = new StringBuilder(SSE_HEAD);
    for (int i = 0; i < all.length; i += 7) {
      chunks.append(chunk(Arrays.copyOfRange(all, i, Math.min(all.length, i + 7))));
    }
    chunks.append("0\r\n\r\n");
    List<Step> steps = new ArrayList<>();
    byte[] wire = chunks.toString().getBytes(StandardCharsets.ISO_8859_1);
    for (int i = 0; i < wire.length; i += 40) {
      steps.add(write(Arrays.copyOfRange(wire, i, Math.min(wire.length, i + 40))));
      steps.add(pause(2));
    }
    Call c = stream("demo", steps);
    assertThat(c.status()).isEqualTo(200);
    assertThat(c.body()).contains("h\u00e9llo \u4e16\u754c");
    assertThat(SseEvents.dispatched(c.body())).last().isEqualTo("[DONE]");
    RequestRecord r = c.record(gw);
    assertThat(r.outcome()).isEqualTo(Outcome.SUCCESS);
    assertThat(r.promptTokens()).isEqualTo(11);
    assertThat(r.completionTokens()).isEqualTo(7);
  }

  @Test
  void lastEventsWithoutTheirBlankLineStillReachTheClient() {
    Call c = stream("demo", List.of(write(SSE_HEAD + chunk(ROLE) + chunk(content("hello")) + chunk("data: [DONE]")
        + "0\r\n\r\n")));
    assertThat(SseEvents.dispatched(c.body())).last().isEqualTo("[DONE]");
    assertThat(c.record(gw).outcome()).isEqualTo(Outcome.SUCCESS);
    Call e = stream("demo", List.of(write(SSE_HEAD + chunk(ROLE) + chunk(content("hello"))
        + chunk("data: {\"error\":{\"message\":\"boom\"}}") + "0\r\n\r\n")));
    assertThat(SseEvents.dispatched(e.body())).last().isEqualTo("{\"error\":{\"message\":\"boom\"}}");
    assertThat(e.record(gw).outcome()).isEqualTo(Outcome.TRUNCATED);
  }

  /** OpenAI streams a refusal as {@code delta.refusal} tokens: the model is answering, not silent. */
  @Test
  void refusalTokensAreFirstTokens() {
    List<Step> steps = new ArrayList<>();
    steps.add(write(SSE_HEAD + chunk(PREFIX
        + "\"delta\":{\"role\":\"assistant\",\"content\":null,\"refusal\":\"\"},\"finish_reason\":null}]}\n\n")));
    for (String t : List.of("I'm", " sorry", ",", " I", " can't", " help", " with", " that", ".")) {
      steps.add(pause(100));
      steps.add(write(chunk(PREFIX + "\"delta\":{\"refusal\":\"" + t + "\"},\"finish_reason\":null}]}\n\n")));
    }
    steps.add(write(chunk(PREFIX + "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n") + chunk("data: [DONE]\n\n")
        + "0\r\n\r\n"));
    // nine tokens 100 ms apart: the whole answer takes longer than the 400 ms first-token guard
    Call c = stream("quick", steps);
    assertThat(c.status()).as("%s", c).isEqualTo(200);
    assertThat(c.body()).contains("sorry");
    assertThat(c.record(gw).outcome()).isEqualTo(Outcome.SUCCESS);
  }

  /** vLLM writes its error event and "data: [DONE]" back to back: they often arrive in one read. */
  @Test
  void anErrorEventBeforeTheFirstTokenIsPassedOnAlsoWhenDoneFollowsInTheSameRead() {
    Call c = stream("demo", List.of(write(SSE_HEAD + chunk(ROLE
        + "data: {\"error\":{\"message\":\"context too long\",\"type\":\"invalid_request_error\",\"code\":\"ctx\"}}\n\n"
        + "data: [DONE]\n\n") + "0\r\n\r\n")));
    assertThat(c.status()).as("%s", c).isEqualTo(502);
    assertThat(new JsonObject(c.body()).getJsonObject("error").getString("code")).as("%s", c).isEqualTo("ctx");
  }

  /**
   * OpenRouter reports a failure mid-generation as an ordinary chunk with a top-level {@code error}
   * member after its {@code id}, {@code object}, ...: the provider's own error ending.
   */
  @Test
  void anErrorMemberThatIsNotTheChunksFirstIsTheProvidersErrorEnding() {
    String failure = "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\","
        + "\"error\":{\"code\":\"server_error\",\"message\":\"Provider disconnected unexpectedly\"},"
        + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"error\"}]}\n\n";
    Call done = stream("demo", List.of(write(SSE_HEAD + chunk(ROLE) + chunk(content("hello")) + chunk(failure)
        + chunk("data: [DONE]\n\n") + "0\r\n\r\n")));
    assertThat(done.record(gw).outcome()).as("the provider said its stream failed").isEqualTo(Outcome.TRUNCATED);
    Call ended = stream("demo", List.of(write(SSE_HEAD + chunk(ROLE) + chunk(content("hello")) + chunk(failure)
        + "0\r\n\r\n")));
    assertThat(ended.record(gw).outcome()).isEqualTo(Outcome.TRUNCATED);
    assertThat(lastEvent(ended)).as("the provider's error is relayed, not doubled by the gateway's")
        .contains("Provider disconnected unexpectedly");
  }

  /** Some servers drop the connection once they have sent [DONE], without ending the chunked body. */
  @Test
  void aConnectionThatBreaksAfterDoneEndsACompleteStream() {
    for (Step end : List.of(new ScriptedUpstream.Close(), new ScriptedUpstream.Reset())) {
      Call c = stream("demo", List.of(write(SSE_HEAD + chunk(ROLE) + chunk(content("hello"))
          + chunk("data: [DONE]\n\n")), pause(50), end));
      assertThat(c.status()).isEqualTo(200);
      assertThat(SseEvents.dispatched(c.body())).as("%s: %s", end, c.body()).last().isEqualTo("[DONE]");
      assertThat(c.record(gw).outcome()).as("%s", end).isEqualTo(Outcome.SUCCESS);
    }
  }

  /** A provider that sends [DONE] but leaves its body open has answered in full: the idle guard ends it cleanly. */
  @Test
  void aProviderThatStaysOpenAfterDoneEndsACompleteStream() {
    Call c = stream("demo", List.of(write(SSE_HEAD + chunk(ROLE) + chunk(content("hello"))
        + chunk("data: [DONE]\n\n")), new ScriptedUpstream.Hang()));
    assertThat(c.status()).isEqualTo(200);
    assertThat(SseEvents.dispatched(c.body())).as("%s", c.body()).last().isEqualTo("[DONE]");
    assertThat(c.record(gw).outcome()).isEqualTo(Outcome.SUCCESS);
  }

  /** The same when the request's deadline comes before the idle guard would. */
  @Test
  void aProviderThatStaysOpenAfterDoneUntilTheDeadlineEndsACompleteStream() {
    up.script(b -> List.of(write(SSE_HEAD + chunk(ROLE) + chunk(content("hello")) + chunk("data: [DONE]\n\n")),
        new ScriptedUpstream.Hang()));
    Call c = Calls.chat(gw, Calls.body("quick", "\"stream\":true"), "x-request-timeout", "1s");
    assertThat(c.status()).isEqualTo(200);
    assertThat(SseEvents.dispatched(c.body())).as("%s", c.body()).last().isEqualTo("[DONE]");
    assertThat(c.record(gw).outcome()).isEqualTo(Outcome.SUCCESS);
  }

  /**
   * A client that stops reading at [DONE] (as many do) may close before the provider's body ends:
   * it got the whole answer, which counts as one, with the usage the provider reported.
   */
  @Test
  void aClientThatClosesAfterDoneWhileTheProviderHasNotEndedGotACompleteAnswer() throws Exception {
    up.script(b -> List.of(write(SSE_HEAD + chunk(ROLE) + chunk(content("hello"))
        + chunk("data: {\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7}}\n\n")
        + chunk("data: [DONE]\n\n")), new ScriptedUpstream.Hang()));
    byte[] body = Calls.body("demo", "\"stream\":true").getBytes(StandardCharsets.UTF_8);
    try (java.net.Socket s = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), gw.gateway().port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nx-request-id: closes-at-done\r\n"
          + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().write(body);
      StringBuilder got = new StringBuilder();
      byte[] buf = new byte[8192];
      for (int n; !got.toString().contains("data: [DONE]\n\n") && (n = s.getInputStream().read(buf)) >= 0; ) {
        got.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
      }
      assertThat(got.toString()).contains("data: [DONE]\n\n");
    }
    RequestRecord r = Calls.record(gw, "closes-at-done");
    assertThat(r.outcome()).isEqualTo(Outcome.SUCCESS);
    assertThat(r.completionTokens()).isEqualTo(7);
  }

  /** As after the commit point, a provider's last event without its blank line still counts before it. */
  @Test
  void anErrorEventWithoutItsBlankLineBeforeTheFirstTokenIsPassedOn() {
    Call c = stream("demo", List.of(write(SSE_HEAD + chunk(ROLE)
        + chunk("data: {\"error\":{\"message\":\"context too long\",\"type\":\"invalid_request_error\",\"code\":\"ctx\"}}")
        + "0\r\n\r\n")));
    assertThat(c.status()).as("%s", c).isEqualTo(502);
    assertThat(new JsonObject(c.body()).getJsonObject("error").getString("code")).as("%s", c).isEqualTo("ctx");
  }
}
