package dev.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.bench.BaselineComparison;
import dev.sluice.bench.Baselines;
import dev.sluice.bench.BenchRun;
import dev.sluice.bench.BenchSpec;
import dev.sluice.bench.Progress;
import dev.sluice.bench.ResultJson;
import dev.sluice.bench.ResultTable;
import dev.sluice.config.Durations;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sluice bench}: an open-loop load generator with baselines and regression checks. */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Send chat completions at a fixed rate (open loop: send times do not wait for answers) and "
        + "report latency from each request's intended send time, success, throughput, first-token time and "
        + "per-chunk delay. Exit 1 when --compare finds a regression, 2 on a usage or I/O error.")
final class BenchCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--target", required = true,
      description = "base URL of the server under test (http[s]://host:port[/v1]) or the full chat-completions URL")
  URI target;

  @Option(names = "--model", defaultValue = "demo", description = "model to request (default: ${DEFAULT-VALUE})")
  String model;

  @Option(names = "--rate", required = true, description = "requests per second, evenly spaced")
  double rate;

  @Option(names = "--duration", defaultValue = "10s", description = "measured time (default: ${DEFAULT-VALUE})")
  String duration;

  @Option(names = "--warmup", defaultValue = "0s", description = "unmeasured lead-in at the same rate (default: ${DEFAULT-VALUE})")
  String warmup;

  @Option(names = "--self-warm", defaultValue = "" + BenchSpec.DEFAULT_SELF_WARM, paramLabel = "N",
      description = "before the timetable, send N requests to a server inside the generator (never the target) so that"
          + " its own code is loaded and compiled off the clock; 0 for none (default: ${DEFAULT-VALUE})")
  int selfWarm;

  @Option(names = "--ca-file", paramLabel = "FILE",
      description = "for an https:// target: PEM certificate authorities to trust instead of the JVM's")
  Path caFile;

  @Option(names = "--stream", description = "request SSE streams")
  boolean stream;

  @Option(names = "--connections", defaultValue = "4096", description = "connection pool size (default: ${DEFAULT-VALUE})")
  int connections;

  @Option(names = "--max-tokens", defaultValue = "0", description = "max_tokens to send; 0 leaves it out (default)")
  int maxTokens;

  @Option(names = "--sim-timestamps",
      description = "ask the simulator to stamp each chunk (x_sim_ns) and report per-chunk delay; same machine only")
  boolean simTimestamps;

  @Option(names = "--timeout", defaultValue = "120s",
      description = "give a request up this long after its intended send (default: ${DEFAULT-VALUE})")
  String timeout;

  @Option(names = "--event-loops", defaultValue = "1", description = "generator event loops (default: ${DEFAULT-VALUE})")
  int eventLoops;

  @Option(names = "--header", paramLabel = "NAME:VALUE", description = "extra request header (repeatable)")
  List<String> headers = List.of();

  @Option(names = "--json", paramLabel = "FILE", description = "write every figure as JSON to FILE")
  Path json;

  @Option(names = "--label", description = "a name for this run, kept in the JSON (e.g. direct, nginx, sluice)")
  String label;

  @Option(names = "--save-baseline", paramLabel = "NAME", description = "keep this result as <data-dir>/baselines/NAME.json")
  String saveBaseline;

  @Option(names = "--compare", paramLabel = "NAME", description = "compare with baseline NAME; exit 1 on regression")
  String compare;

  @Option(names = "--threshold", defaultValue = "20",
      description = "regression threshold in percent (default: ${DEFAULT-VALUE})")
  double threshold;

  @Option(names = "--data-dir", defaultValue = ".", description = "where baselines live (default: the current directory)")
  Path dataDir;

  @Option(names = "--no-progress", description = "no progress bar on stderr (there is none when not on a terminal)")
  boolean noProgress;

  @Override
  public Integer call() throws Exception {
    BenchSpec bench;
    try {
      bench = new BenchSpec(target, model, rate, duration("--duration", duration), warmupNanos(), stream,
          connections, maxTokens, simTimestamps, duration("--timeout", timeout), eventLoops, label,
          selfWarm, caFile);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (!(threshold >= 0)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--threshold must not be negative");
    }
    Map<String, String> extraHeaders = parseHeaders();
    Baselines baselines = new Baselines(dataDir);
    JsonNode baseline = null;
    try {
      if (saveBaseline != null) {
        baselines.path(saveBaseline);
      }
      if (compare != null) {
        baseline = baselines.load(compare); // before the run: a missing baseline should not cost one
      }
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    } catch (IOException e) {
      System.err.println("sluice bench: " + e.getMessage());
      return 2;
    }

    long total = bench.schedule().total();
    Progress progress = noProgress || !interactive() ? Progress.NONE : Progress.bar("bench", total);
    BenchRun.Result result = BenchRun.run(bench, extraHeaders, progress);
    ObjectNode doc = ResultJson.of(result);
    System.out.print(ResultTable.render(doc));

    try {
      if (json != null) {
        Path parent = json.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        Files.writeString(json, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(doc) + "\n");
      }
      int code = 0;
      if (baseline != null) {
        BaselineComparison cmp = BaselineComparison.of(baseline, doc, threshold);
        System.out.print(cmp.render(compare, threshold));
        code = cmp.anyRegressed() ? 1 : 0;
      }
      if (saveBaseline != null) {
        System.out.println("baseline saved: " + baselines.save(saveBaseline, doc));
      }
      return code;
    } catch (IOException e) {
      System.err.println("sluice bench: " + e.getMessage());
      return 2;
    }
  }

  /**
   * Whether a person is watching: the bar redraws itself with carriage returns four times a second,
   * which in a log file or a CI console is a line of noise per redraw. Before JDK 22 a console exists
   * only when input and output are terminals; from JDK 22 it may exist regardless, and says so.
   */
  static boolean interactive() {
    java.io.Console c = System.console();
    if (c == null) {
      return false;
    }
    try {
      return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(c);
    } catch (ReflectiveOperationException | ClassCastException e) {
      return true;
    }
  }

  private long warmupNanos() {
    String w = warmup.trim();
    return Durations.isZero(w) ? 0 : duration("--warmup", w);
  }

  private long duration(String option, String text) {
    long n = Durations.parseNanos(text);
    if (n <= 0) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          option + ": expected a duration such as 500ms, 20s or 1m, found '" + text + "'");
    }
    return n;
  }

  private Map<String, String> parseHeaders() {
    Map<String, String> out = new LinkedHashMap<>();
    for (String h : headers) {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--header expects NAME:VALUE, found '" + h + "'");
      }
      out.put(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
    }
    return out;
  }
}
