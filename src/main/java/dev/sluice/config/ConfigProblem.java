package dev.sluice.config;

/**
 * Something wrong (or doubtful) in a configuration, with where it is.
 *
 * @param severity ERROR stops start-up; WARNING is reported and tolerated
 * @param path     the key path, e.g. {@code models.demo.deployments[1].timeouts.total}
 * @param line     1-based line in the source file, or 0 when unknown
 */
public record ConfigProblem(Severity severity, String path, int line, String message) {
  public enum Severity { ERROR, WARNING }

  @Override
  public String toString() {
    String where = line > 0 ? "line " + line + ", " + path : path;
    return severity.name().toLowerCase(java.util.Locale.ROOT) + ": " + where + ": " + message;
  }
}
