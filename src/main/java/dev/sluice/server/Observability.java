package dev.sluice.server;

import dev.sluice.store.Database;
import dev.sluice.store.RequestLog;
import dev.sluice.store.RequestLogReader;
import dev.sluice.telemetry.Metrics;
import dev.sluice.telemetry.RecentRequests;

/** The parts that let an operator see what happened: metrics, the request log and its reader. */
public record Observability(Metrics metrics, RecentRequests recent, Database database, RequestLog log,
    RequestLogReader reader) {}
