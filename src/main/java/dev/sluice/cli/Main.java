package dev.sluice.cli;

import dev.sluice.config.FileErrors;
import dev.sluice.server.Gateway;
import dev.sluice.server.Transports;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code sluice} command. */
@Command(name = "sluice", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "A gateway for LLM APIs that makes every call finish or fail on time.",
    subcommands = {ServeCommand.class, SimCommand.class, ConfigCommand.class, KeysCommand.class, ReportCommand.class, BenchCommand.class})
public final class Main implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    Transports.preferOneShotPoll();
    int code = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true)
        .setExecutionExceptionHandler(Main::failed)
        .execute(args);
    // a gateway that stopped on a signal returns here and exits 0; the simulator returns only from
    // its shutdown hook, where an exit would wait for ever
    if (code != 0 || args.length == 0 || !"sim".equals(args[0])) {
      System.exit(code);
    }
  }

  /**
   * A command that could not do its work (a port in use, a store that cannot be reached, a data
   * directory that cannot be made) says why in one line, with the causes' own messages; the stack
   * trace is for SLUICE_LOG_LEVEL=DEBUG.
   */
  static int failed(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
    cl.getErr().println("sluice " + cl.getCommandName() + ": " + describe(e));
    if ("DEBUG".equalsIgnoreCase(System.getenv("SLUICE_LOG_LEVEL")) || "TRACE".equalsIgnoreCase(System.getenv("SLUICE_LOG_LEVEL"))) {
      e.printStackTrace(cl.getErr());
    }
    return 1;
  }

  /** The messages of {@code e} and its causes, each once (a wrapper often repeats its cause's). */
  static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = e; t != null && t != t.getCause(); t = t.getCause()) {
      String m = t.getMessage() == null || t.getMessage().isBlank() ? t.getClass().getSimpleName()
          : FileErrors.reason(t) != null ? FileErrors.reason(t) + ": " + t.getMessage()
          : t.getMessage();
      if (sb.indexOf(m) < 0) {
        sb.append(sb.length() == 0 ? "" : ": ").append(m);
      }
    }
    return sb.toString();
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"sluice " + Gateway.version()};
    }
  }
}
