package dev.sluice.telemetry;

/**
 * One record per request (DESIGN.md 6), built when it ends. Times are milliseconds; -1 where a
 * value does not apply (no first token for a non-stream, no deadline in skip mode, no tokens known).
 *
 * @param route each attempt as {@code deployment:result}, in order
 */
public record RequestRecord(
    String id,
    long startEpochMillis,
    String keyId,
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
    String cache,
    int promptTokens,
    int completionTokens,
    double deadlineMs,
    String priority,
    double overheadMs) {

  public static Builder builder() {
    return new Builder();
  }

  /** Fills a record field by field; unset numbers are -1. */
  public static final class Builder {
    private String id;
    private long startEpochMillis;
    private String keyId;
    private String endpoint;
    private String model;
    private String provider;
    private String deployment;
    private int status;
    private Outcome outcome;
    private String errorType;
    private String errorMessage;
    private double latencyMs = -1;
    private double firstTokenMs = -1;
    private int attempts;
    private String route = "";
    private boolean hedged;
    private boolean stream;
    private String cache;
    private int promptTokens = -1;
    private int completionTokens = -1;
    private double deadlineMs = -1;
    private String priority;
    private double overheadMs = -1;

    public Builder id(String v) { id = v; return this; }
    public Builder start(long epochMillis) { startEpochMillis = epochMillis; return this; }
    public Builder key(String v) { keyId = v; return this; }
    public Builder endpoint(String v) { endpoint = v; return this; }
    public Builder model(String v) { model = v; return this; }
    public Builder provider(String v) { provider = v; return this; }
    public Builder deployment(String v) { deployment = v; return this; }
    public Builder status(int v) { status = v; return this; }
    public Builder outcome(Outcome v) { outcome = v; return this; }
    public Builder error(String type, String message) { errorType = type; errorMessage = message; return this; }
    public Builder latencyMs(double v) { latencyMs = v; return this; }
    public Builder firstTokenMs(double v) { firstTokenMs = v; return this; }
    public Builder attempts(int v) { attempts = v; return this; }
    public Builder route(String v) { route = v; return this; }
    public Builder hedged(boolean v) { hedged = v; return this; }
    public Builder stream(boolean v) { stream = v; return this; }
    public Builder cache(String v) { cache = v; return this; }
    public Builder tokens(int prompt, int completion) { promptTokens = prompt; completionTokens = completion; return this; }
    public Builder deadlineMs(double v) { deadlineMs = v; return this; }
    public Builder priority(String v) { priority = v; return this; }
    public Builder overheadMs(double v) { overheadMs = v; return this; }

    public RequestRecord build() {
      return new RequestRecord(id, startEpochMillis, keyId, endpoint, model, provider, deployment, status, outcome,
          errorType, errorMessage, latencyMs, firstTokenMs, attempts, route, hedged, stream, cache, promptTokens,
          completionTokens, deadlineMs, priority, overheadMs);
    }
  }
}
