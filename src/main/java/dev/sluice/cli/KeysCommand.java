package dev.sluice.cli;

import dev.sluice.admission.ApiKey;
import dev.sluice.admission.KeyRing;
import dev.sluice.admission.Priority;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.server.KeyService;
import dev.sluice.store.Database;
import dev.sluice.store.KeyStore;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sluice keys}: virtual API keys in the gateway's store (a running gateway sees changes within seconds). */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "Create, list and revoke virtual API keys.",
    subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class})
final class KeysCommand implements Runnable {
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** Where the store is: the configuration's {@code store:} and the data directory, as for {@code serve}. */
  static class StoreOptions {
    @Option(names = "--config", description = "configuration file whose store to use (default: built-in)")
    Path config;

    @Option(names = "--data-dir", description = "data directory (default: the current directory)")
    Path dataDir;

    SluiceConfig loaded;

    KeyService open(Database[] holder) {
      ConfigLoader loader = ConfigLoader.fromEnvironment();
      SluiceConfig c = config == null ? loader.loadDefault() : loader.load(config);
      loaded = c;
      if (!c.store().enabled()) {
        throw new IllegalStateException("the configuration has store.url: none; keys need a store");
      }
      Database db = Database.open(c.store(), dataDir == null ? Path.of("").toAbsolutePath() : dataDir);
      holder[0] = db;
      return new KeyService(new KeyStore(db), new KeyRing());
    }
  }

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a key and print it (only this once).")
  static final class Create extends StoreOptions implements Callable<Integer> {
    @Option(names = "--name", required = true, description = "a name to recognise the key by")
    String name;

    @Option(names = "--models", split = ",", description = "models it may use (default: all)")
    List<String> models;

    @Option(names = "--rpm", description = "requests per minute")
    Long rpm;

    @Option(names = "--tpm", description = "tokens per minute")
    Long tpm;

    @Option(names = "--max-concurrency", description = "requests at once")
    Integer maxConcurrency;

    @Option(names = "--priority", defaultValue = "normal", description = "high, normal or low (default: ${DEFAULT-VALUE})")
    String priority;

    @Option(names = "--max-tokens", description = "largest max_tokens a request may ask for")
    Integer maxTokens;

    @Override
    public Integer call() throws Exception {
      String problem = ApiKey.nameProblem(name);
      if (problem != null) {
        System.err.println("--name: " + problem);
        return 2;
      }
      name = name.trim();
      Priority p = Priority.parse(priority);
      if (p == null) {
        System.err.println("--priority must be high, normal or low");
        return 2;
      }
      for (Long v : new Long[] {rpm, tpm, maxConcurrency == null ? null : (long) maxConcurrency,
          maxTokens == null ? null : (long) maxTokens}) {
        // the same range as POST /admin/keys
        if (v != null && (v < 1 || v > Integer.MAX_VALUE)) {
          System.err.println("limits must be whole numbers from 1 to " + Integer.MAX_VALUE);
          return 2;
        }
      }
      if (models != null && ApiKey.modelNames(models).isEmpty()) {
        // no models means every model: an empty --models (a script's unset variable) must not grant that
        System.err.println("--models names no model; leave it out to allow every model");
        return 2;
      }
      Database[] db = new Database[1];
      try {
        KeyService keys = open(db);
        Set<String> m = models == null ? Set.of() : ApiKey.modelNames(models);
        KeyService.Created c = keys.create(name, m, rpm == null ? -1 : rpm, tpm == null ? -1 : tpm,
            maxConcurrency == null ? -1 : maxConcurrency, p, maxTokens == null ? -1 : maxTokens);
        System.out.println(c.secret());
        System.err.println("created key " + c.key().id() + " (" + name + "); this is the only time it is shown");
        for (String model : m) {
          if (!served(loaded, model)) {
            // the gateway's configuration may differ (or change later): a warning, not a refusal
            System.err.println("warning: model '" + model + "' is not served by " + (config == null
                ? "the built-in configuration" : config.toString()) + "; requests for it get 404 model_not_found");
          }
        }
        return 0;
      } catch (java.sql.SQLException e) {
        System.err.println(e.getMessage() != null && e.getMessage().toLowerCase().contains("unique")
            ? "a live key named '" + name + "' exists; revoke it or choose another name" : e.getMessage());
        return 1;
      } finally {
        if (db[0] != null) {
          db[0].close();
        }
      }
    }
  }

  /** A configured model, an alias, or {@code <provider>/<model>} on a pass-through provider. */
  static boolean served(SluiceConfig c, String model) {
    if (c.models().values().stream().anyMatch(mc -> mc.name().equals(model) || mc.aliases().contains(model))) {
      return true;
    }
    int slash = model.indexOf('/');
    var p = slash <= 0 ? null : c.providers().get(model.substring(0, slash));
    return p != null && p.passthrough() && slash < model.length() - 1;
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List keys (never their secrets).")
  static final class ListKeys extends StoreOptions implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
      Database[] db = new Database[1];
      try {
        List<ApiKey> all = open(db).list();
        System.out.printf("%-18s %-20s %-24s %-8s %-8s %-10s %-7s %-8s %s%n", "ID", "NAME", "PREFIX", "RPM", "TPM",
            "MAX-CONC", "PRIO", "STATE", "MODELS");
        for (ApiKey k : all) {
          System.out.printf("%-18s %-20s %-24s %-8s %-8s %-10s %-7s %-8s %s%n", k.id(), k.name(), k.prefix(),
              k.rpm() < 0 ? "-" : k.rpm(), k.tpm() < 0 ? "-" : k.tpm(),
              k.maxConcurrency() < 0 ? "-" : k.maxConcurrency(), k.priority().label(),
              k.revoked() ? "revoked" : "live", k.models().isEmpty() ? "*" : String.join(",", k.models()));
        }
        return 0;
      } finally {
        if (db[0] != null) {
          db[0].close();
        }
      }
    }
  }

  @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a key by id or name.")
  static final class Revoke extends StoreOptions implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ID|NAME")
    String key;

    @Override
    public Integer call() throws Exception {
      Database[] db = new Database[1];
      try {
        Optional<ApiKey> k = open(db).revoke(key);
        if (k.isEmpty()) {
          System.err.println("no live key with id or name '" + key + "'");
          return 1;
        }
        System.out.println("revoked " + k.get().id() + " (" + k.get().name() + ") at "
            + Instant.ofEpochMilli(k.get().revokedAt()));
        return 0;
      } finally {
        if (db[0] != null) {
          db[0].close();
        }
      }
    }
  }
}
