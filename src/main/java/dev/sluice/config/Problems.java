package dev.sluice.config;

import java.util.ArrayList;
import java.util.List;

/** Collects every problem found while loading, each with its line when the locator knows it. */
final class Problems {
  private final List<ConfigProblem> list = new ArrayList<>();
  private final YamlLocator locator;

  Problems(YamlLocator locator) {
    this.locator = locator;
  }

  void error(String path, String message) {
    list.add(new ConfigProblem(ConfigProblem.Severity.ERROR, path, locator.lineOf(path), message));
  }

  void warning(String path, String message) {
    list.add(new ConfigProblem(ConfigProblem.Severity.WARNING, path, locator.lineOf(path), message));
  }

  boolean hasErrors() {
    return list.stream().anyMatch(p -> p.severity() == ConfigProblem.Severity.ERROR);
  }

  List<ConfigProblem> all() {
    return List.copyOf(list);
  }
}
