package dev.sluice.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Prometheus metrics (Micrometer), all named {@code sluice_*}, with low-cardinality labels:
 * model, provider, deployment, outcome, reason. Meters are looked up once per label combination
 * and kept; a finished request finds all of its meters with one lookup, then costs a few atomic adds.
 */
public final class Metrics implements Recorder, Telemetry {
  private static final String NONE = "none";

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ConcurrentHashMap<Object, Object> meters = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<SeriesKey, RequestMeters> series = new ConcurrentHashMap<>();
  private volatile Timer overhead;
  private JvmGcMetrics gc;

  private record Key(String name, String a, String b, String c) {}

  /**
   * Turns a request's model into a label value. The gateway sets one that keeps configured names
   * and folds pass-through names ({@code openai/<anything>}, chosen by clients) into one per provider.
   */
  private volatile java.util.function.UnaryOperator<String> modelLabel = m -> m;

  public void modelLabels(java.util.function.UnaryOperator<String> labeler) {
    this.modelLabel = labeler;
  }

  /** The same for deployment ids: a pass-through deployment's id is the client's model text. */
  private volatile java.util.function.UnaryOperator<String> deploymentLabel = d -> d;

  public void deploymentLabels(java.util.function.UnaryOperator<String> labeler) {
    this.deploymentLabel = labeler;
  }

  private String label(String model) {
    return model == null ? NONE : modelLabel.apply(model);
  }

  /**
   * Registers a counter whose value is read from {@code owner} when scraped (a running total kept
   * elsewhere). Micrometer holds {@code owner} weakly, so it must be an object that lives on.
   */
  public <T> void functionCounter(String name, String help, T owner, java.util.function.ToDoubleFunction<T> value) {
    io.micrometer.core.instrument.FunctionCounter.builder(name, owner, value).description(help).register(registry);
  }

  public Metrics() {
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    gc = new JvmGcMetrics();
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The Prometheus text exposition. */
  public String scrape() {
    return registry.scrape();
  }

  /** Registers a gauge read when scraped. */
  public void gauge(String name, String help, Supplier<Number> value, String... tags) {
    Gauge.builder(name, () -> value.get().doubleValue()).description(help).tags(tags).register(registry);
  }

  @Override
  public void record(RequestRecord r) {
    // a request refused before it reached a provider may name any model at all (an unknown one is
    // refused for that very reason): its name must not become a label value, or every made-up name
    // would add a counter and a histogram for good
    String model = r.provider() == null && r.outcome() == Outcome.REJECTED ? NONE : label(r.model());
    SeriesKey key = new SeriesKey(model, or(r.provider()), r.stream());
    RequestMeters m = series.get(key);
    if (m == null) {
      m = series.computeIfAbsent(key, RequestMeters::new);
    }
    m.outcome(r.outcome()).increment();
    if (r.latencyMs() >= 0) {
      m.duration().record((long) (r.latencyMs() * 1e6), TimeUnit.NANOSECONDS);
    }
    if (r.firstTokenMs() >= 0) {
      m.firstToken().record((long) (r.firstTokenMs() * 1e6), TimeUnit.NANOSECONDS);
    }
    if (r.overheadMs() >= 0) {
      overhead().record((long) (r.overheadMs() * 1e6), TimeUnit.NANOSECONDS);
    }
    if (r.attempts() > 0) {
      m.attempts().record(r.attempts());
    }
    if (r.promptTokens() > 0) {
      m.promptTokens().increment(r.promptTokens());
    }
    if (r.completionTokens() > 0) {
      m.completionTokens().increment(r.completionTokens());
    }
    if (r.cache() != null) {
      counter(new Key("sluice_cache", r.cache(), null, null), k -> Counter.builder("sluice_cache")
          .description("Cache lookups by result").tags("result", r.cache()).register(registry)).increment();
    }
  }

  private record SeriesKey(String model, String provider, boolean stream) {}

  /**
   * The meters a finished request touches, found with one lookup per (model, provider, stream)
   * instead of one per meter. Each is registered on first use, as before: a series that never
   * streams has no first-token histogram.
   */
  private final class RequestMeters {
    private final String model;
    private final String provider;
    private final boolean stream;
    private final AtomicReferenceArray<Counter> outcomes = new AtomicReferenceArray<>(Outcome.values().length);
    private volatile Timer duration;
    private volatile Timer firstToken;
    private volatile DistributionSummary attempts;
    private volatile Counter promptTokens;
    private volatile Counter completionTokens;

    RequestMeters(SeriesKey k) {
      this.model = k.model();
      this.provider = k.provider();
      this.stream = k.stream();
    }

    Counter outcome(Outcome o) {
      Counter c = outcomes.get(o.ordinal());
      if (c == null) {
        String outcome = o.label();
        c = counter(new Key("sluice_requests", model, provider, outcome), k -> Counter.builder("sluice_requests")
            .description("Requests by how they ended")
            .tags("model", model, "provider", provider, "outcome", outcome).register(registry));
        outcomes.set(o.ordinal(), c);
      }
      return c;
    }

    Timer duration() {
      Timer t = duration;
      if (t == null) {
        String s = stream ? "true" : "false";
        t = timer(new Key("sluice_request_duration", model, provider, s),
            k -> Timer.builder("sluice_request_duration")
                .description("Time from arrival to the last byte sent")
                .tags("model", model, "provider", provider, "stream", s)
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(180)).register(registry));
        duration = t;
      }
      return t;
    }

    Timer firstToken() {
      Timer t = firstToken;
      if (t == null) {
        t = timer(new Key("sluice_time_to_first_token", model, provider, null),
            k -> Timer.builder("sluice_time_to_first_token")
                .description("Time from arrival to the first token of a stream")
                .tags("model", model, "provider", provider)
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(180)).register(registry));
        firstToken = t;
      }
      return t;
    }

    DistributionSummary attempts() {
      DistributionSummary d = attempts;
      if (d == null) {
        d = summary(new Key("sluice_attempts_per_request", model, null, null),
            k -> DistributionSummary.builder("sluice_attempts_per_request")
                .description("Upstream attempts made for one request").tags("model", model)
                .serviceLevelObjectives(1, 2, 3, 4, 5).register(registry));
        attempts = d;
      }
      return d;
    }

    Counter promptTokens() {
      Counter c = promptTokens;
      if (c == null) {
        c = tokens(model, provider, "prompt");
        promptTokens = c;
      }
      return c;
    }

    Counter completionTokens() {
      Counter c = completionTokens;
      if (c == null) {
        c = tokens(model, provider, "completion");
        completionTokens = c;
      }
      return c;
    }
  }

  private Timer overhead() {
    Timer t = overhead;
    if (t == null) {
      t = timer(new Key("sluice_gateway_overhead", null, null, null),
          k -> Timer.builder("sluice_gateway_overhead")
              .description("Time spent in the gateway itself, excluding the provider's time to answer or first token")
              .publishPercentileHistogram().minimumExpectedValue(Duration.ofNanos(10_000))
              .maximumExpectedValue(Duration.ofSeconds(1)).register(registry));
      overhead = t;
    }
    return t;
  }

  private Counter tokens(String model, String provider, String kind) {
    return counter(new Key("sluice_tokens", model, provider, kind), k -> Counter.builder("sluice_tokens")
        .description("Tokens reported by providers").tags("model", model, "provider", provider, "kind", kind)
        .register(registry));
  }

  @Override
  public void attemptEnded(String model, String deployment, String provider, String result, long nanos) {
    String d = deployment == null ? NONE : deploymentLabel.apply(deployment);
    String res = resultClass(result);
    counter(new Key("sluice_attempts", d, res, null), k -> Counter.builder("sluice_attempts")
        .description("Upstream attempts by deployment and result")
        .tags("deployment", d, "provider", or(provider), "result", res).register(registry)).increment();
  }

  @Override
  public void retried(String model, String deployment) {
    String m = label(model);
    counter(new Key("sluice_retries", m, null, null), k -> Counter.builder("sluice_retries")
        .description("Retries and fail-overs started").tags("model", m).register(registry)).increment();
  }

  @Override
  public void hedged(String model, String deployment) {
    String m = label(model);
    counter(new Key("sluice_hedges", m, null, null), k -> Counter.builder("sluice_hedges")
        .description("Hedged attempts started").tags("model", m).register(registry)).increment();
  }

  @Override
  public void retrySkipped(String model, String reason) {
    String m = label(model);
    counter(new Key("sluice_retries_skipped", m, reason, null), k -> Counter.builder("sluice_retries_skipped")
        .description("Failures not retried, by reason (budget, deadline, max_attempts, no_capacity)")
        .tags("model", m, "reason", reason).register(registry)).increment();
  }

  @Override
  public void shed(String reason) {
    counter(new Key("sluice_shed", reason, null, null), k -> Counter.builder("sluice_shed")
        .description("Requests refused before reaching a provider, by reason")
        .tags("reason", reason).register(registry)).increment();
  }

  /** Counts a breaker state change. */
  public void breakerTransition(String deploymentId, String to) {
    String deployment = deploymentLabel.apply(deploymentId);
    counter(new Key("sluice_breaker_transitions", deployment, to, null),
        k -> Counter.builder("sluice_breaker_transitions").description("Circuit breaker state changes")
            .tags("deployment", deployment, "to", to).register(registry)).increment();
  }

  /** Keeps attempt results to a small set of labels. */
  static String resultClass(String result) {
    if (result == null) {
      return "unknown";
    }
    if (result.length() == 3 && Character.isDigit(result.charAt(0))) {
      char c = result.charAt(0);
      if (result.equals("429")) {
        return "429";
      }
      return c == '2' ? "success" : c == '4' ? "4xx" : c == '5' ? "5xx" : "other";
    }
    return result;
  }

  private Counter counter(Key k, Function<Key, Counter> make) {
    Object m = meters.get(k);
    return (Counter) (m != null ? m : meters.computeIfAbsent(k, x -> make.apply(k)));
  }

  private Timer timer(Key k, Function<Key, Timer> make) {
    return (Timer) meters.computeIfAbsent(k, x -> make.apply(k));
  }

  private DistributionSummary summary(Key k, Function<Key, DistributionSummary> make) {
    return (DistributionSummary) meters.computeIfAbsent(k, x -> make.apply(k));
  }

  private static String or(String s) {
    return s == null ? NONE : s;
  }

  public void close() {
    if (gc != null) {
      gc.close();
    }
    registry.close();
  }
}
