package dev.sluice.server;

import dev.sluice.admission.Admission;
import dev.sluice.config.SluiceConfig;
import dev.sluice.deadline.DeadlinePolicy;
import dev.sluice.deadline.Scheduler;
import dev.sluice.envelope.EnvelopeReader;
import dev.sluice.provider.openai.OpenAiCompatible;
import dev.sluice.routing.ModelRegistry;
import dev.sluice.resilience.RetryBudget;
import dev.sluice.resilience.Running;
import dev.sluice.routing.RoutePlanner;
import dev.sluice.telemetry.Ledger;
import dev.sluice.telemetry.Recorder;
import dev.sluice.telemetry.Telemetry;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/** What every event loop shares: configuration, registry, policies, counters and the clock. */
public record Services(
    SluiceConfig config,
    LongSupplier clock,
    Scheduler scheduler,
    Ledger ledger,
    Recorder recorder,
    ModelRegistry registry,
    RoutePlanner planner,
    RetryBudget globalBudget,
    RandomGenerator random,
    DeadlinePolicy deadlines,
    EnvelopeReader envelopes,
    Map<String, OpenAiCompatible> adapters,
    Telemetry telemetry,
    Admission admission,
    Observability observability,
    KeyService keys,
    String version,
    Running running) {}
