package dev.sluice.telemetry;

/**
 * One record per request (DESIGN.md 6), built when it ends. {@code route} lists each attempt as
 * {@code deployment:result}. Times are milliseconds; -1 where a value does not apply.
 *
 * <p>One record per request (DESIGN.md 6), built when it ends. Times are milliseconds; -1 where a
 * value does not apply (no first token for a non-stream, no deadline in skip mode).
 */
public record RequestRecord(
    String id,
    long startEpochMillis,
    String endpoint,
    String model,
    String provider,
    String deployment,
    int status,
    Outcome outcome,
    String errorType,
    String errorMessage,
    double latencyMs,
    double firstTokenMs,
    int attempts,
    String route,
    boolean hedged,
    boolean stream,
    double deadlineMs,
    double overheadMs) {}
