package dev.sluice.cli;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ConfigProblem;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code sluice config check FILE}. */
@Command(name = "config", mixinStandardHelpOptions = true, description = "Work with configuration files.",
    subcommands = ConfigCommand.Check.class)
final class ConfigCommand implements Runnable {
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(name = "check", mixinStandardHelpOptions = true,
      description = "Validate a configuration and report every problem with its location. Exit 0 when usable.")
  static final class Check implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "FILE", description = "YAML file (default: the built-in configuration)")
    Path file;

    @Override
    public Integer call() {
      ConfigLoader loader = ConfigLoader.fromEnvironment();
      ConfigLoader.Result r = file == null ? loader.checkDefault() : loader.check(file);
      String name = file == null ? "built-in config" : file.toString();
      long errors = r.problems().stream().filter(p -> p.severity() == ConfigProblem.Severity.ERROR).count();
      for (ConfigProblem p : r.problems()) {
        System.out.println(name + ": " + p);
      }
      if (errors > 0) {
        System.out.println(name + ": " + errors + " error(s); the gateway would not start with this configuration");
        return 1;
      }
      System.out.println(name + ": OK (" + r.config().models().size() + " models, "
          + r.config().providers().values().stream().filter(p -> p.enabled()).count() + " providers enabled"
          + (r.warnings().isEmpty() ? "" : ", " + r.warnings().size() + " warning(s)") + ")");
      return 0;
    }
  }
}
