package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.testing.TestGateway;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Bad input over real HTTP: each case gets the right status and OpenAI's error shape, costs the
 * provider nothing (the simulator sees no request), leaves nothing behind, and never shows the
 * provider's API key.
 */
class BadInputTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRET = "SECRET123";
  private static final int MAX_BODY = 4096;
  private static final String YAML = """
      server: { port: 0, event_loops: 1, max_body_size: 4KiB, max_messages: 3 }
      providers:
        sim: { type: sim, seed: 7, api_key: "sk-test-SECRET123" }
      models:
        demo:
          deployments:
            - { id: sim-a, provider: sim, model: sim-fast }
      """;
  private static final String MSG = "{\"role\":\"user\",\"content\":\"hello\"}";

  private static TestGateway gw;
  private long simRequestsBefore;

  @BeforeAll
  static void start() {
    gw = TestGateway.start(YAML);
  }

  @AfterAll
  static void stop() {
    gw.close();
  }

  @BeforeEach
  void countProviderRequests() {
    gw.awaitAtRest();
    simRequestsBefore = gw.sim().stats().requests();
  }

  // ---- a response, whichever client produced it ----------------------------------------------

  private record Reply(int status, Map<String, List<String>> headers, String body) {
    static Reply of(HttpResponse<String> r) {
      Map<String, List<String>> h = new LinkedHashMap<>();
      r.headers().map().forEach((k, v) -> h.put(k.toLowerCase(Locale.ROOT), v));
      return new Reply(r.statusCode(), h, r.body());
    }

    Optional<String> header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
    }
  }

  private static Reply post(String path, String body) {
    return Reply.of(gw.post(path, body));
  }

  private static Reply post(String path, byte[] body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gw.baseUrl() + path))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return Reply.of(gw.send(b));
  }

  private static Reply chat(String body, String... headers) {
    String[] all = new String[headers.length + 2];
    all[0] = "content-type";
    all[1] = "application/json";
    System.arraycopy(headers, 0, all, 2, headers.length);
    return post("/v1/chat/completions", body.getBytes(StandardCharsets.UTF_8), all);
  }

  private static Reply get(String path) {
    return Reply.of(gw.get(path));
  }

  /**
   * Checks a rejection completely: status, OpenAI's error shape with type, code and param, no
   * secret, no provider involved, and everything the request took given back.
   */
  private JsonNode assertRejected(Reply r, int status, String code, String param) {
    assertThat(r.status()).as("status of %s", r.body()).isEqualTo(status);
    assertThat(r.header("content-type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
    JsonNode root = parse(r.body());
    assertThat(names(root)).containsExactly("error");
    JsonNode e = root.get("error");
    assertThat(names(e)).containsExactlyInAnyOrder("message", "type", "param", "code");
    assertThat(e.get("message").isTextual()).isTrue();
    assertThat(e.get("message").asText()).isNotBlank();
    assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
    assertThat(e.get("code").isTextual()).isTrue();
    assertThat(e.get("code").asText()).isEqualTo(code);
    if (param == null) {
      assertThat(e.get("param").isNull()).as("param of %s", r.body()).isTrue();
    } else {
      assertThat(e.get("param").asText()).isEqualTo(param);
    }
    assertThat(r.header("x-sluice-deployment")).isEmpty();
    assertThat(r.header("x-sluice-provider")).isEmpty();
    assertNoSecret(r);
    gw.awaitAtRest();
    assertThat(gw.sim().stats().requests()).as("requests the provider saw").isEqualTo(simRequestsBefore);
    return e;
  }

  private static void assertNoSecret(Reply r) {
    assertThat(r.body()).doesNotContain(SECRET);
    r.headers().forEach((k, v) -> {
      assertThat(k).doesNotContain(SECRET);
      v.forEach(value -> assertThat(value).doesNotContain(SECRET));
    });
  }

  /**
   * Sends raw bytes on a fresh connection and reads one HTTP/1.1 response (headers, then a body of
   * its Content-Length). The read timeout only keeps a broken gateway from hanging the build.
   */
  private static Reply raw(byte[] request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", gw.gateway().port())) {
      s.setSoTimeout(30_000);
      OutputStream out = s.getOutputStream();
      out.write(request);
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int matched = 0;
      while (matched < 4) {
        int b = in.read();
        if (b < 0) {
          throw new IOException("connection closed before the response headers ended: " + head);
        }
        head.write(b);
        matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
      }
      String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
      int status = Integer.parseInt(lines[0].split(" ")[1]);
      Map<String, List<String>> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon > 0) {
          headers.computeIfAbsent(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
              .add(lines[i].substring(colon + 1).trim());
        }
      }
      int length = Integer.parseInt(headers.getOrDefault("content-length", List.of("0")).get(0));
      byte[] body = in.readNBytes(length);
      assertThat(body).as("response body").hasSize(length);
      return new Reply(status, headers, new String(body, StandardCharsets.UTF_8));
    }
  }

  private static JsonNode parse(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new UncheckedIOException("not JSON: " + body, e);
    }
  }

  private static List<String> names(JsonNode n) {
    assertThat(n.isObject()).as("%s is an object", n).isTrue();
    List<String> out = new ArrayList<>();
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      out.add(it.next());
    }
    return out;
  }

  private static String body(String... members) {
    return "{" + String.join(",", members) + "}";
  }

  private static String messages(int n) {
    StringBuilder sb = new StringBuilder("\"messages\":[");
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "" : ",").append(MSG);
    }
    return sb.append(']').toString();
  }

  // ---- malformed bodies ----------------------------------------------------------------------

  @Test
  void malformedJson() {
    assertRejected(chat("{\"model\":\"demo\",\"messages\":[" + MSG), 400, "invalid_json", null);
  }

  @Test
  void malformedJsonWithASyntaxErrorInside() {
    assertRejected(chat("{\"model\":\"demo\",,\"messages\":[" + MSG + "]}"), 400, "invalid_json", null);
  }

  @Test
  void emptyBody() {
    assertRejected(chat(""), 400, "invalid_json", null);
  }

  @Test
  void bodyIsAJsonArray() {
    assertRejected(chat("[" + TestGateway.chat(null) + "]"), 400, "invalid_json", null);
  }

  @ParameterizedTest
  @ValueSource(strings = {"42", "\"demo\"", "null", "true"})
  void bodyIsAJsonScalar(String scalar) {
    assertRejected(chat(scalar), 400, "invalid_json", null);
  }

  @ParameterizedTest
  @ValueSource(strings = {" x", "{}", "}", " 1", "\n[]"})
  void trailingGarbageAfterTheObject(String garbage) {
    assertRejected(chat(TestGateway.chat(null) + garbage), 400, "invalid_json", null);
  }

  // ---- wrong types ---------------------------------------------------------------------------

  @Test
  void streamIsNotABoolean() {
    assertRejected(chat(TestGateway.chat("\"stream\":\"yes\"")), 400, "invalid_type", "stream");
  }

  @Test
  void modelIsANumber() {
    assertRejected(chat(body("\"model\":42", messages(1))), 400, "invalid_type", "model");
  }

  @Test
  void messagesIsAString() {
    assertRejected(chat(body("\"model\":\"demo\"", "\"messages\":\"hi\"")), 400, "invalid_type", "messages");
  }

  @Test
  void maxTokensIsAString() {
    assertRejected(chat(TestGateway.chat("\"max_tokens\":\"10\"")), 400, "invalid_type", "max_tokens");
  }

  @Test
  void maxTokensIsZero() {
    assertRejected(chat(TestGateway.chat("\"max_tokens\":0")), 400, "invalid_value", "max_tokens");
  }

  @Test
  void maxTokensBeyondAnyInteger() {
    assertRejected(chat(TestGateway.chat("\"max_tokens\":99999999999999999999")), 400, "invalid_value", "max_tokens");
  }

  @Test
  void temperatureIsAString() {
    assertRejected(chat(TestGateway.chat("\"temperature\":\"hot\"")), 400, "invalid_type", "temperature");
  }

  @Test
  void messageWithoutRole() {
    assertRejected(chat(body("\"model\":\"demo\"", "\"messages\":[" + MSG + ",{\"content\":\"hi\"}]")), 400,
        "missing_required_parameter", "messages[1].role");
  }

  @Test
  void messageThatIsNotAnObject() {
    assertRejected(chat(body("\"model\":\"demo\"", "\"messages\":[\"hi\"]")), 400, "invalid_type", "messages[0]");
  }

  // ---- model and messages --------------------------------------------------------------------

  @Test
  void missingModel() {
    assertRejected(chat(body(messages(1))), 400, "missing_required_parameter", "model");
  }

  @Test
  void unknownModel() {
    JsonNode e = assertRejected(chat(body("\"model\":\"gpt-17\"", messages(1))), 404, "model_not_found", "model");
    assertThat(e.get("message").asText()).contains("gpt-17");
  }

  @Test
  void unknownPassThroughProvider() {
    assertRejected(chat(body("\"model\":\"nowhere/some-model\"", messages(1))), 404, "model_not_found", "model");
  }

  @Test
  void emptyMessages() {
    assertRejected(chat(body("\"model\":\"demo\"", "\"messages\":[]")), 400, "invalid_value", "messages");
  }

  @Test
  void missingMessages() {
    assertRejected(chat(body("\"model\":\"demo\"")), 400, "missing_required_parameter", "messages");
  }

  @Test
  void tooManyMessages() {
    assertRejected(chat(body("\"model\":\"demo\"", messages(4))), 400, "too_many_messages", "messages");
  }

  @Test
  void exactlyTheMostMessagesAllowedPass() {
    Reply r = chat(body("\"model\":\"demo\"", messages(3)));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    gw.awaitAtRest();
    assertThat(gw.sim().stats().requests()).isEqualTo(simRequestsBefore + 1);
  }

  // ---- size ----------------------------------------------------------------------------------

  /** A valid chat body of exactly {@code size} bytes. */
  private static String chatOfSize(int size) {
    String head = "{\"model\":\"demo\"," + messages(1) + ",\"user\":\"";
    String tail = "\"}";
    return head + "x".repeat(size - head.length() - tail.length()) + tail;
  }

  @Test
  void aBodyOfExactlyTheMaximumSizePasses() {
    String body = chatOfSize(MAX_BODY);
    assertThat(body.getBytes(StandardCharsets.UTF_8)).hasSize(MAX_BODY);
    Reply r = chat(body);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    gw.awaitAtRest();
  }

  @Test
  void bodyOverTheLimitWithContentLengthIsRefusedBeforeItIsSent() throws IOException {
    // only the headers are sent: the answer must not wait for a body it does not want
    String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + (MAX_BODY + 1) + "\r\n\r\n";
    Reply r = raw(head.getBytes(StandardCharsets.US_ASCII));
    assertRejected(r, 413, "request_too_large", null);
    assertThat(r.header("connection")).hasValueSatisfying(v -> assertThat(v).containsIgnoringCase("close"));
  }

  @Test
  void hugeContentLengthIsRefusedToo() throws IOException {
    String head = "POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Content-Length: 10000000000\r\n\r\n";
    assertRejected(raw(head.getBytes(StandardCharsets.US_ASCII)), 413, "request_too_large", null);
  }

  @Test
  void chunkedBodyOverTheLimitIsRefusedWhileArriving() throws IOException {
    ByteArrayOutputStream req = new ByteArrayOutputStream();
    req.writeBytes(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    String body = chatOfSize(MAX_BODY + 600);
    int chunk = 1000;
    for (int i = 0; i < body.length(); i += chunk) {
      String part = body.substring(i, Math.min(body.length(), i + chunk));
      req.writeBytes((Integer.toHexString(part.length()) + "\r\n" + part + "\r\n").getBytes(StandardCharsets.US_ASCII));
    }
    // no terminating chunk: the gateway must answer without waiting for the end of the body
    Reply r = raw(req.toByteArray());
    assertRejected(r, 413, "request_too_large", null);
  }

  /**
   * A client that announces a body with {@code Expect: 100-continue} waits for the go-ahead before
   * sending it (curl does so for large bodies). When the gateway will refuse the body anyway, it
   * must answer 413 at once, not first invite the body with {@code 100 Continue}.
   */
  @Test
  void bodyOverTheLimitIsNotInvitedWith100Continue() throws IOException {
    String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Expect: 100-continue\r\nContent-Length: " + (MAX_BODY + 1) + "\r\n\r\n";
    assertRejected(raw(head.getBytes(StandardCharsets.US_ASCII)), 413, "request_too_large", null);
  }

  @Test
  void anAcceptableBodyIsInvitedWith100ContinueAndServed() {
    java.net.http.HttpResponse<String> r = gw.send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create(gw.baseUrl() + "/v1/chat/completions"))
        .header("content-type", "application/json")
        .expectContinue(true)
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(TestGateway.chat(null))));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    gw.awaitAtRest();
  }

  @Test
  void aBodyThatNeverArrivesIsAnsweredWithinTheClientsBudget() throws IOException {
    // the headers promise 500 bytes, 10 arrive, then nothing: the client's own budget ends the wait
    String req = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "X-Request-Timeout: 200ms\r\nContent-Length: 500\r\n\r\n{\"model\":";
    Reply r = raw(req.getBytes(StandardCharsets.US_ASCII));
    assertRejected(r, 408, "request_timeout", null);
    assertThat(r.header("connection")).hasValueSatisfying(v -> assertThat(v).containsIgnoringCase("close"));
  }

  @Test
  void chunkedBodyWithinTheLimitPasses() throws IOException {
    String body = TestGateway.chat(null);
    String req = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + Integer.toHexString(10) + "\r\n" + body.substring(0, 10) + "\r\n"
        + Integer.toHexString(body.length() - 10) + "\r\n" + body.substring(10) + "\r\n0\r\n\r\n";
    Reply r = raw(req.getBytes(StandardCharsets.US_ASCII));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    gw.awaitAtRest();
  }

  // ---- content type --------------------------------------------------------------------------

  @Test
  void wrongContentType() {
    assertRejected(post("/v1/chat/completions", TestGateway.chat(null).getBytes(StandardCharsets.UTF_8),
        "content-type", "text/plain"), 415, "unsupported_media_type", null);
  }

  @Test
  void formContentType() {
    assertRejected(post("/v1/chat/completions", TestGateway.chat(null).getBytes(StandardCharsets.UTF_8),
        "content-type", "application/x-www-form-urlencoded"), 415, "unsupported_media_type", null);
  }

  @Test
  void missingContentType() {
    assertRejected(post("/v1/chat/completions", TestGateway.chat(null).getBytes(StandardCharsets.UTF_8)),
        415, "unsupported_media_type", null);
  }

  @Test
  void jsonContentTypeWithCharsetAndOtherCasePasses() {
    Reply r = post("/v1/chat/completions", TestGateway.chat(null).getBytes(StandardCharsets.UTF_8),
        "content-type", "Application/JSON; charset=utf-8");
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    gw.awaitAtRest();
  }

  // ---- invalid UTF-8 -------------------------------------------------------------------------

  private static byte[] withBytes(String before, byte[] bad, String after) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(before.getBytes(StandardCharsets.UTF_8));
    out.writeBytes(bad);
    out.writeBytes(after.getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  @Test
  void invalidUtf8InAStringValue() {
    byte[] b = withBytes("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"a",
        new byte[] {(byte) 0xC3, (byte) 0x28}, "b\"}]}");
    assertRejected(post("/v1/chat/completions", b, "content-type", "application/json"), 400, "invalid_encoding", null);
  }

  @Test
  void invalidUtf8InAKey() {
    byte[] b = withBytes("{\"model\":\"demo\"," + messages(1) + ",\"x", new byte[] {(byte) 0xFF}, "\":1}");
    assertRejected(post("/v1/chat/completions", b, "content-type", "application/json"), 400, "invalid_encoding", null);
  }

  @Test
  void invalidUtf8InTheModel() {
    byte[] b = withBytes("{\"model\":\"de", new byte[] {(byte) 0xFF}, "mo\"," + messages(1) + "}");
    assertRejected(post("/v1/chat/completions", b, "content-type", "application/json"), 400, "invalid_encoding", null);
  }

  @Test
  void overlongUtf8IsInvalidToo() {
    byte[] b = withBytes("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"",
        new byte[] {(byte) 0xC0, (byte) 0xAF}, "\"}]}");
    assertRejected(post("/v1/chat/completions", b, "content-type", "application/json"), 400, "invalid_encoding", null);
  }

  // ---- client budgets ------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"abc", "-1s", "0", "10 seconds", "1d"})
  void unparseableRequestTimeoutHeader(String value) {
    JsonNode e = assertRejected(chat(TestGateway.chat(null), "x-request-timeout", value), 400,
        "invalid_request_timeout", "X-Request-Timeout");
    assertThat(e.get("message").asText()).contains(value);
  }

  @ParameterizedTest
  @ValueSource(strings = {"12", "123456789S", "5s", "1.5S", "-1S"})
  void unparseableGrpcTimeoutHeader(String value) {
    assertRejected(chat(TestGateway.chat(null), "grpc-timeout", value), 400, "invalid_request_timeout", "grpc-timeout");
  }

  @ParameterizedTest
  @CsvSource({"x-request-timeout,30s", "x-request-timeout,2.5", "grpc-timeout,20S", "grpc-timeout,99999999H"})
  void validBudgetHeadersPass(String header, String value) {
    Reply r = chat(TestGateway.chat(null), header, value);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    gw.awaitAtRest();
  }

  @Test
  void negativeTimeoutInTheBody() {
    assertRejected(chat(TestGateway.chat("\"timeout\":-1")), 400, "invalid_value", "timeout");
  }

  @Test
  void timeoutInTheBodyIsAString() {
    assertRejected(chat(TestGateway.chat("\"timeout\":\"10\"")), 400, "invalid_type", "timeout");
  }

  @Test
  void timeoutInTheBodyTwice() {
    assertRejected(chat(TestGateway.chat("\"timeout\":5,\"timeout\":10")), 400, "duplicate_parameter", "timeout");
  }

  @Test
  void modelInTheBodyTwice() {
    assertRejected(chat(TestGateway.chat("\"model\":\"gpt-4o\"")), 400, "duplicate_parameter", "model");
  }

  @Test
  void aValidTimeoutInTheBodyBecomesTheBudgetSentUpstream() {
    Reply r = chat(TestGateway.chat("\"timeout\":20"));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    String upstream = gw.sim().lastRequestTimeout();
    assertThat(upstream).matches("\\d+ms");
    assertThat(Long.parseLong(upstream.replace("ms", ""))).isBetween(1L, 20_000L);
    gw.awaitAtRest();
  }

  // ---- other endpoints -----------------------------------------------------------------------

  @Test
  void streamOnEmbeddings() {
    assertRejected(post("/v1/embeddings", body("\"model\":\"demo\"", "\"input\":\"hi\"", "\"stream\":true")), 400,
        "invalid_value", "stream");
  }

  @ParameterizedTest
  @ValueSource(strings = {"\"input\":\"\"", "\"input\":[]"})
  void embeddingsWithEmptyInput(String input) {
    assertRejected(post("/v1/embeddings", body("\"model\":\"demo\"", input)), 400, "missing_required_parameter",
        "input");
  }

  @Test
  void embeddingsWithoutInput() {
    assertRejected(post("/v1/embeddings", body("\"model\":\"demo\"")), 400, "missing_required_parameter", "input");
  }

  @Test
  void completionsWithoutPrompt() {
    assertRejected(post("/v1/completions", body("\"model\":\"demo\"", "\"max_tokens\":5")), 400,
        "missing_required_parameter", "prompt");
  }

  @Test
  void getOnChatCompletions() {
    Reply r = get("/v1/chat/completions");
    assertRejected(r, 405, "method_not_allowed", null);
    assertThat(r.header("allow")).hasValue("POST");
  }

  @ParameterizedTest
  @ValueSource(strings = {"PUT", "DELETE", "PATCH"})
  void otherMethodsOnInferenceEndpoints(String method) {
    Reply r = Reply.of(gw.send(HttpRequest.newBuilder(URI.create(gw.baseUrl() + "/v1/embeddings"))
        .header("content-type", "application/json")
        .method(method, HttpRequest.BodyPublishers.ofString(body("\"model\":\"demo\"", "\"input\":\"x\"")))));
    assertRejected(r, 405, "method_not_allowed", null);
    assertThat(r.header("allow")).hasValue("POST");
  }

  @Test
  void postOnHealth() {
    Reply r = post("/health", "{}");
    assertRejected(r, 405, "method_not_allowed", null);
    assertThat(r.header("allow")).hasValue("GET");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/v1/nope", "/", "/v1/chat/completions/extra", "/v2/chat/completions", "/V1/MODELS"})
  void unknownPath(String path) {
    assertRejected(get(path), 404, "not_found", null);
  }

  @Test
  void unknownPathWithPost() {
    assertRejected(post("/v1/chat", TestGateway.chat(null)), 404, "not_found", null);
  }

  // ---- valid requests pass -------------------------------------------------------------------

  @Test
  void validChatCompletion() {
    Reply r = post("/v1/chat/completions", TestGateway.chat("\"max_tokens\":8"));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(parse(r.body()).path("object").asText()).isEqualTo("chat.completion");
    assertThat(r.header("x-sluice-deployment")).hasValue("sim-a");
    assertNoSecret(r);
    gw.awaitAtRest();
    assertThat(gw.sim().stats().requests()).isEqualTo(simRequestsBefore + 1);
  }

  @Test
  void validCompletion() {
    Reply r = post("/v1/completions", body("\"model\":\"demo\"", "\"prompt\":\"Say hi\"", "\"max_tokens\":8"));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(parse(r.body()).path("object").asText()).isEqualTo("text_completion");
    gw.awaitAtRest();
    assertThat(gw.sim().stats().requests()).isEqualTo(simRequestsBefore + 1);
  }

  @Test
  void validEmbeddings() {
    Reply r = post("/v1/embeddings", body("\"model\":\"demo\"", "\"input\":[\"a\",\"b\"]"));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode json = parse(r.body());
    assertThat(json.path("object").asText()).isEqualTo("list");
    // (the simulator answers one embedding whatever the number of inputs: its own shortcut)
    assertThat(json.path("data").isArray()).isTrue();
    assertThat(json.path("data").path(0).path("object").asText()).isEqualTo("embedding");
    gw.awaitAtRest();
    assertThat(gw.sim().stats().requests()).isEqualTo(simRequestsBefore + 1);
  }

  @Test
  void validStreamingChat() {
    Reply r = post("/v1/chat/completions", TestGateway.chat("\"stream\":true"));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.header("content-type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
    assertThat(r.body()).contains("data: [DONE]");
    gw.awaitAtRest();
  }

  @Test
  void modelsListsDemo() {
    Reply r = get("/v1/models");
    assertThat(r.status()).isEqualTo(200);
    JsonNode json = parse(r.body());
    assertThat(json.path("object").asText()).isEqualTo("list");
    assertThat(json.path("data").findValuesAsText("id")).contains("demo");
    assertNoSecret(r);
    assertThat(gw.sim().stats().requests()).isEqualTo(simRequestsBefore);
  }

  @Test
  void healthReadyAndVersion() {
    Reply health = get("/health");
    assertThat(health.status()).isEqualTo(200);
    assertThat(parse(health.body()).path("status").asText()).isEqualTo("ok");
    Reply ready = get("/ready");
    assertThat(ready.status()).isEqualTo(200);
    assertThat(parse(ready.body()).path("status").asText()).isEqualTo("ready");
    Reply version = get("/version");
    assertThat(version.status()).isEqualTo(200);
    assertThat(parse(version.body()).path("name").asText()).isEqualTo("sluice");
    for (Reply r : List.of(health, ready, version)) {
      assertNoSecret(r);
    }
    assertThat(gw.sim().stats().requests()).isEqualTo(simRequestsBefore);
    gw.awaitAtRest();
  }

  // ---- the provider's key --------------------------------------------------------------------

  @Test
  void theProvidersKeyIsSentUpstreamButNeverReturned() {
    Reply ok = post("/v1/chat/completions", TestGateway.chat(null));
    assertThat(ok.status()).isEqualTo(200);
    assertThat(gw.sim().lastAuthorization()).isEqualTo("Bearer sk-test-SECRET123");
    assertNoSecret(ok);
    // errors that come from upstream, not only from the edge, keep it hidden as well
    for (int status : new int[] {401, 403, 400}) {
      Reply err = post("/v1/chat/completions",
          TestGateway.chat("\"sim\":{\"error_rate\":1,\"error_statuses\":[" + status + "]}"));
      // a provider refusing the gateway's own credentials is the operator's problem, not the
      // client's key: it becomes a 502 naming the deployment, with the provider's status in a header
      int expected = status == 400 ? 400 : 502;
      assertThat(err.status()).as(err.body()).isEqualTo(expected);
      assertThat(err.header("x-sluice-upstream-status")).hasValue(String.valueOf(status));
      if (expected == 502) {
        assertThat(err.body()).contains("upstream_auth_error").contains("sim-a");
      }
      assertNoSecret(err);
    }
    gw.awaitAtRest();
  }
}
