package dev.sluice.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.regex.Pattern;

/** Named results kept under {@code <data-dir>/baselines/NAME.json}. */
public final class Baselines {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

  private final Path dir;

  public Baselines(Path dataDir) {
    this.dir = dataDir.resolve("baselines");
  }

  public Path path(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("baseline name must be letters, digits, '.', '_' or '-' (found '" + name + "')");
    }
    return dir.resolve(name + ".json");
  }

  /** Writes the result as baseline {@code name}, replacing an older one whole (never half-written). */
  public Path save(String name, JsonNode result) throws IOException {
    Path target = path(name);
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, name, ".tmp");
    Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result) + "\n");
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return target;
  }

  /**
   * Reads baseline {@code name}. A file that is not a result of this tool is refused rather than
   * compared: every figure would be missing from it, and a comparison of nothing finds no regression.
   */
  public JsonNode load(String name) throws IOException {
    Path p = path(name);
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(p));
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(p.toString(), null, "no baseline named '" + name + "'");
    } catch (JsonProcessingException e) {
      throw new IOException(p + ": baseline '" + name + "' is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.path("throughput_rps").isNumber() || !root.path("success_rate").isNumber()
        || !root.path("latency_ms").isObject()) {
      throw new IOException(p + ": baseline '" + name + "' is not a sluice bench result"
          + " (throughput_rps, success_rate and latency_ms are missing or not numbers)");
    }
    return root;
  }
}
