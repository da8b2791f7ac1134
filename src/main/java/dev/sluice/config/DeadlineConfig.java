package dev.sluice.config;

import java.time.Duration;

/**
 * Request deadlines (DESIGN.md 2.1 and 2.3). A request's deadline is the earliest of the client's
 * budget, its route tier's deadline and the gateway cap.
 *
 * @param cap             gateway-wide cap; default 170 s
 * @param skip            development switch: lifts the cap and tier deadlines (never the attempt guards)
 * @param info            tier 1 (health, version, models): default 5 s
 * @param inference       tier 2, non-streaming chat/completions/embeddings: default 30 s
 * @param inferenceStream tier 2, streaming: default 170 s (streams are bounded by their guards)
 * @param files           tier 3: default 60 s
 * @param workflows       tier 4: default 60 s
 */
public record DeadlineConfig(
    Duration cap, boolean skip, Duration info, Duration inference, Duration inferenceStream,
    Duration files, Duration workflows) {

  public static final DeadlineConfig DEFAULTS = new DeadlineConfig(
      Duration.ofSeconds(170), false, Duration.ofSeconds(5), Duration.ofSeconds(30),
      Duration.ofSeconds(170), Duration.ofSeconds(60), Duration.ofSeconds(60));

  public DeadlineConfig withSkip(boolean s) {
    return new DeadlineConfig(cap, s, info, inference, inferenceStream, files, workflows);
  }
}
