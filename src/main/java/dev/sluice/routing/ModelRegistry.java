package dev.sluice.routing;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.sluice.admission.AdmissionQueue;
import dev.sluice.admission.ConcurrencyLimiter;
import dev.sluice.config.AdmissionConfig;
import dev.sluice.config.DeploymentConfig;
import dev.sluice.config.ModelConfig;
import dev.sluice.config.ProviderConfig;
import dev.sluice.config.ResilienceConfig;
import dev.sluice.config.SluiceConfig;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Finds the deployments for a client's model name: configured models and their aliases first,
 * then {@code provider/model} on providers that allow pass-through. Deployments on disabled
 * providers are left out, and models with none left are not offered.
 */
public final class ModelRegistry {
  private final Map<String, ModelGroup> byName = new LinkedHashMap<>();
  private final List<ModelGroup> groups = new ArrayList<>();
  private final Map<String, ProviderConfig> passthrough = new LinkedHashMap<>();
  private final Cache<String, ModelGroup> passthroughGroups = Caffeine.newBuilder().maximumSize(1024).build();

  private final ResilienceConfig defaults;
  private final AdmissionConfig admission;
  private final LongSupplier clock;
  private final DeploymentHealth.Listener listener;

  /** A registry on the system clock, without a breaker listener (tools and tests). */
  public ModelRegistry(SluiceConfig config) {
    this(config, System::nanoTime, null);
  }

  public ModelRegistry(SluiceConfig config, LongSupplier clock, DeploymentHealth.Listener listener) {
    this.defaults = config.resilience();
    this.admission = config.admission();
    this.clock = clock;
    this.listener = listener;
    for (ModelConfig m : config.models().values()) {
      List<Deployment> ds = new ArrayList<>();
      for (DeploymentConfig d : m.deployments()) {
        ProviderConfig p = config.providers().get(d.provider());
        if (p != null && p.enabled()) {
          ds.add(new Deployment(d, p, new DeploymentHealth(d.id(), m.resilience(), clock, listener),
              new ConcurrencyLimiter(admission.limit(), d.maxConcurrency()), m.maxTokens()));
        }
      }
      if (ds.isEmpty()) {
        continue;
      }
      ModelGroup g = group(m.name(), ds, m.fallbacks(), m.resilience(), m.maxTokens());
      groups.add(g);
      byName.put(m.name(), g);
      for (String alias : m.aliases()) {
        byName.put(alias, g);
      }
    }
    config.providers().values().stream()
        .filter(p -> p.enabled() && p.passthrough())
        .forEach(p -> passthrough.put(p.name(), p));
  }

  public Optional<ModelGroup> find(String model) {
    ModelGroup g = byName.get(model);
    if (g != null) {
      return Optional.of(g);
    }
    ProviderConfig p = passthroughProvider(model);
    if (p == null) {
      return Optional.empty();
    }
    return Optional.of(passthroughGroups.get(model, k -> {
      String upstream = k.substring(p.name().length() + 1);
      DeploymentConfig d = new DeploymentConfig(k, p.name(), upstream, 1, p.timeouts(), -1);
      return group(k, List.of(new Deployment(d, p, new DeploymentHealth(k, defaults, clock, listener),
          new ConcurrencyLimiter(admission.limit(), -1), -1)), List.of(), defaults, -1);
    }));
  }

  /** A group whose queue is fed whenever one of its deployments frees a slot. */
  private ModelGroup group(String name, List<Deployment> ds, List<String> fallbacks, ResilienceConfig r,
      int maxTokens) {
    AdmissionQueue q = new AdmissionQueue(admission.queueSize(), admission.shares(), new GroupSlots(ds), clock)
        .withMaxWait(admission.queueMaxWait() == null ? AdmissionQueue.UNBOUNDED
            : admission.queueMaxWait().isNegative() ? AdmissionQueue.AUTO : admission.queueMaxWait().toNanos());
    for (Deployment d : ds) {
      d.limiter().onFree(q::dispatch);
    }
    return new ModelGroup(name, ds, fallbacks, r, maxTokens, q);
  }

  /** Configured models with at least one enabled deployment, in configuration order. */
  public Collection<ModelGroup> groups() {
    return groups;
  }

  /**
   * The pass-through provider a {@code provider/model} name addresses, or {@code null} when the name
   * has no such form or its provider does not allow pass-through.
   */
  public ProviderConfig passthroughProvider(String model) {
    int slash = model.indexOf('/');
    if (slash <= 0 || slash == model.length() - 1) {
      return null;
    }
    return passthrough.get(model.substring(0, slash));
  }

  public Collection<String> passthroughProviders() {
    return passthrough.keySet();
  }

  /** Every deployment of configured models (pass-through ones are created on demand). */
  public List<Deployment> deployments() {
    List<Deployment> out = new ArrayList<>();
    groups.forEach(g -> out.addAll(g.deployments()));
    return out;
  }
}
