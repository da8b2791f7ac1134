package dev.sluice.cli;

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
    int code = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    // a gateway that stopped on a signal returns here and exits 0; the simulator returns only from
    // its shutdown hook, where an exit would wait for ever
    if (code != 0 || args.length == 0 || !"sim".equals(args[0])) {
      System.exit(code);
    }
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
