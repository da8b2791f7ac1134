package dev.sluice.envelope;

/** The inference endpoints the gateway relays, with the path each one has below a provider's base URL. */
public enum Endpoint {
  CHAT("/v1/chat/completions", "/chat/completions", true),
  COMPLETIONS("/v1/completions", "/completions", true),
  EMBEDDINGS("/v1/embeddings", "/embeddings", false);

  private final String path;
  private final String upstreamSuffix;
  private final boolean streamable;

  Endpoint(String path, String upstreamSuffix, boolean streamable) {
    this.path = path;
    this.upstreamSuffix = upstreamSuffix;
    this.streamable = streamable;
  }

  public String path() {
    return path;
  }

  public String upstreamSuffix() {
    return upstreamSuffix;
  }

  public boolean streamable() {
    return streamable;
  }

  /** The short name used in records and metrics. */
  public String label() {
    return switch (this) {
      case CHAT -> "chat";
      case COMPLETIONS -> "completions";
      case EMBEDDINGS -> "embeddings";
    };
  }

  public static Endpoint ofPath(String path) {
    for (Endpoint e : values()) {
      if (e.path.equals(path)) {
        return e;
      }
    }
    return null;
  }
}
