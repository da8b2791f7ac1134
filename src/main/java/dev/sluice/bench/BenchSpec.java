package dev.sluice.bench;

import java.net.URI;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What one load-generator run does. Validated when built, so a run never starts half-configured.
 *
 * @param target        base URL of the server under test ({@code http://host:port} or {@code https://...}, with or without
 *                      {@code /v1}) or the full chat-completions URL
 * @param model         the {@code model} sent in every request
 * @param rate          intended requests per second, evenly spaced
 * @param durationNanos how long the measured part lasts
 * @param warmupNanos   an unmeasured lead-in at the same rate (connections, JIT)
 * @param stream        ask for SSE streams
 * @param connections   connection pool size (all lanes together); large, so that the generator stays open-loop
 * @param maxTokens     the request's {@code max_tokens}, or 0 to leave it out
 * @param simTimestamps ask the simulator to stamp each chunk with {@code x_sim_ns}
 * @param timeoutNanos  a request still unfinished this long after its intended send is given up
 * @param lanes         event loops that share the schedule (request i goes to lane i mod lanes)
 * @param label         free text naming the run (e.g. the target's name)
 * @param selfWarm      requests sent, before the timetable, to a server inside the generator so that
 *                      its own code is loaded and compiled off the clock (see {@link SelfWarm}); 0 for none
 * @param caFile        for an {@code https} target: PEM certificate authorities to trust instead of the
 *                      JVM's, or {@code null}
 */
public record BenchSpec(
    URI target, String model, double rate, long durationNanos, long warmupNanos, boolean stream,
    int connections, int maxTokens, boolean simTimestamps, long timeoutNanos, int lanes, String label,
    int selfWarm, Path caFile) {
  /** Self-warm requests when not told otherwise. */
  public static final int DEFAULT_SELF_WARM = 200;

  /** A spec with the default self-warm. */
  public BenchSpec(URI target, String model, double rate, long durationNanos, long warmupNanos, boolean stream,
      int connections, int maxTokens, boolean simTimestamps, long timeoutNanos, int lanes, String label) {
    this(target, model, rate, durationNanos, warmupNanos, stream, connections, maxTokens, simTimestamps, timeoutNanos,
        lanes, label, DEFAULT_SELF_WARM, null);
  }

  public BenchSpec {
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(model, "model");
    if (target.getScheme() == null || !(target.getScheme().equals("http") || target.getScheme().equals("https"))
        || target.getHost() == null) {
      throw new IllegalArgumentException("--target must be an http:// or https:// URL, found '" + target + "'");
    }
    if (caFile != null && !target.getScheme().equals("https")) {
      throw new IllegalArgumentException("--ca-file is for https:// targets only");
    }
    if (!(rate > 0) || rate > 1_000_000) {
      throw new IllegalArgumentException("--rate must be above 0 and at most 1000000 per second");
    }
    if (durationNanos <= 0) {
      throw new IllegalArgumentException("--duration must be positive");
    }
    if (warmupNanos < 0) {
      throw new IllegalArgumentException("--warmup must not be negative");
    }
    if (connections < 1) {
      throw new IllegalArgumentException("--connections must be at least 1");
    }
    if (maxTokens < 0) {
      throw new IllegalArgumentException("--max-tokens must not be negative");
    }
    if (timeoutNanos <= 0) {
      throw new IllegalArgumentException("--timeout must be positive");
    }
    if (lanes < 1 || lanes > connections) {
      throw new IllegalArgumentException("--event-loops must be between 1 and --connections");
    }
    if (selfWarm < 0 || selfWarm > 100_000) {
      throw new IllegalArgumentException("--self-warm must be between 0 and 100000 requests");
    }
    label = label == null ? "" : label;
  }

  /** The URL every request is posted to. */
  public URI requestUri() {
    String s = target.toString();
    while (s.endsWith("/")) {
      s = s.substring(0, s.length() - 1);
    }
    if (s.endsWith("/chat/completions")) {
      return URI.create(s);
    }
    return URI.create(s.endsWith("/v1") ? s + "/chat/completions" : s + "/v1/chat/completions");
  }

  public boolean tls() {
    return "https".equals(target.getScheme());
  }

  public Schedule schedule() {
    return new Schedule(rate, warmupNanos, durationNanos);
  }
}
