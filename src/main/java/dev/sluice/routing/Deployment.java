package dev.sluice.routing;

import dev.sluice.admission.ConcurrencyLimiter;
import dev.sluice.config.DeploymentConfig;
import dev.sluice.config.ProviderConfig;
import dev.sluice.config.Timeouts;
import java.util.concurrent.atomic.AtomicInteger;

/** A deployment at run time: its configuration and the live state shared by all event loops. */
public final class Deployment {
  private final DeploymentConfig config;
  private final ProviderConfig provider;
  private final DeploymentHealth health;
  private final ConcurrencyLimiter limiter;
  private final int maxTokens;
  private final AtomicInteger inFlight = new AtomicInteger();

  /**
   * @param maxTokens the largest {@code max_tokens} its model allows (its {@code models.<m>.max_tokens}),
   *                  or -1 for no ceiling
   */
  public Deployment(DeploymentConfig config, ProviderConfig provider, DeploymentHealth health,
      ConcurrencyLimiter limiter, int maxTokens) {
    this.config = config;
    this.provider = provider;
    this.health = health;
    this.limiter = limiter;
    this.maxTokens = maxTokens;
  }

  /** The largest {@code max_tokens} this deployment's model allows, or -1 for no ceiling. */
  public int maxTokens() {
    return maxTokens;
  }

  /** The deployment's adaptive concurrency limit; every attempt holds one of its slots. */
  public ConcurrencyLimiter limiter() {
    return limiter;
  }

  public String id() {
    return config.id();
  }

  public String upstreamModel() {
    return config.model();
  }

  public int weight() {
    return config.weight();
  }

  public Timeouts timeouts() {
    return config.timeouts();
  }

  public ProviderConfig provider() {
    return provider;
  }

  public DeploymentHealth health() {
    return health;
  }

  public int inFlight() {
    return inFlight.get();
  }

  public void attemptStarted() {
    inFlight.incrementAndGet();
  }

  public void attemptEnded() {
    inFlight.decrementAndGet();
  }

  @Override
  public String toString() {
    return id();
  }
}
