package dev.sluice.config;

import java.util.List;
import java.util.stream.Collectors;

/** Thrown when a configuration has errors; carries every problem found, not just the first. */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final transient List<ConfigProblem> problems;

  public ConfigException(String source, List<ConfigProblem> problems) {
    super("configuration " + source + " has problems:\n  "
        + problems.stream().map(ConfigProblem::toString).collect(Collectors.joining("\n  ")));
    this.problems = List.copyOf(problems);
  }

  public List<ConfigProblem> problems() {
    return problems;
  }
}
