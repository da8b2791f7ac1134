package dev.sluice.envelope;

/**
 * Reads a {@code Content-Encoding} header: whether a body (the client's request, a provider's
 * answer) arrives in a coding that the gateway, which reads bodies as plain JSON or events, would
 * first have to undo.
 */
public final class ContentCoding {
  private ContentCoding() {}

  /** The coding named by {@code header} (trimmed), or {@code null} when absent, blank or {@code identity}. */
  public static String of(String header) {
    if (header == null) {
      return null;
    }
    String c = header.trim();
    return c.isEmpty() || c.equalsIgnoreCase("identity") ? null : c;
  }
}
