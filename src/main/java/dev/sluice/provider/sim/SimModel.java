package dev.sluice.provider.sim;

import java.util.List;

/**
 * How one simulated model behaves. Probabilities are per request, in [0, 1].
 *
 * @param firstToken        time to the first token (and, non-streaming, to the start of generation)
 * @param headerDelayNanos  streaming: time before response headers are sent
 * @param tokensPerSecond   generation pace after the first token
 * @param minOutputTokens   shortest completion
 * @param maxOutputTokens   longest completion (also capped by the request's max_tokens)
 * @param errorRate         share answered with one of {@code errorStatuses}
 * @param errorStatuses     statuses used for errors
 * @param rateLimitRate     share answered 429 with {@code Retry-After}
 * @param retryAfterSeconds the Retry-After sent with 429
 * @param requestsPerMinute a real request limit (429 beyond it); 0 for none
 * @param hangBeforeHeaders share that never answer at all
 * @param hangMidStream     share of streams that stop sending after some tokens, without closing
 * @param resetMidStream    share of streams whose connection is closed after some tokens
 * @param slowStream        share of streams paced {@code slowFactor} times slower
 * @param slowFactor        how much slower a slow stream is
 * @param embeddingDims     length of embedding vectors
 * @param timestamps        stamp every streamed content chunk with {@code "x_sim_ns"}, the
 *                          {@link System#nanoTime()} at which it was written, so that a load generator
 *                          on the same machine can measure each chunk's delay (off by default)
 * @param streamError       share of streams that send an error event before any token, then end
 * @param capacity          answers generated at once (0 = unlimited); the rest wait, first come first
 *                          served, which adds to their time to first token
 */
public record SimModel(
    LatencyDistribution firstToken,
    long headerDelayNanos,
    double tokensPerSecond,
    int minOutputTokens,
    int maxOutputTokens,
    double errorRate,
    List<Integer> errorStatuses,
    double rateLimitRate,
    long retryAfterSeconds,
    int requestsPerMinute,
    double hangBeforeHeaders,
    double hangMidStream,
    double resetMidStream,
    double slowStream,
    double slowFactor,
    int embeddingDims,
    boolean timestamps,
    double streamError,
    int capacity) {

  public SimModel {
    errorStatuses = List.copyOf(errorStatuses);
  }

  /** A quick, healthy model: the default for names no profile mentions. */
  public static final SimModel FAST = new SimModel(
      new LatencyDistribution(20_000_000L, 60_000_000L, 0, 1), 1_000_000L, 200, 16, 48,
      0, List.of(500, 503), 0, 1, 0, 0, 0, 0, 0, 10, 16, false, 0, 0);

  /** The built-in slow and flaky model behind {@code demo}'s second deployment. */
  public static final SimModel SLOW_FLAKY = new SimModel(
      new LatencyDistribution(600_000_000L, 3_000_000_000L, 0, 1), 5_000_000L, 30, 16, 64,
      0.05, List.of(500, 503), 0.02, 1, 0, 0, 0, 0.01, 0, 10, 16, false, 0, 0);
}
