package dev.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A typed, path-aware view of one mapping in the configuration tree. Every accessor records a
 * problem (with the key's path) instead of throwing, so that one pass reports everything wrong.
 */
final class Section {
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(b|kb|kib|mb|mib|gb|gib)?");

  private final JsonNode node;
  private final String path;
  private final Problems problems;
  private final Set<String> known = new LinkedHashSet<>();

  Section(JsonNode node, String path, Problems problems) {
    this.node = node == null ? MissingNode.getInstance() : node;
    this.path = path;
    this.problems = problems;
    if (!this.node.isMissingNode() && !this.node.isNull() && !this.node.isObject()) {
      problems.error(path, "expected a mapping, found " + kind(this.node));
    }
  }

  String path() {
    return path;
  }

  Problems problems() {
    return problems;
  }

  boolean has(String key) {
    known.add(key);
    JsonNode v = node.get(key);
    return v != null && !v.isNull();
  }

  String child(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  private JsonNode value(String key) {
    known.add(key);
    JsonNode v = node.isObject() ? node.get(key) : null;
    return v == null || v.isNull() ? null : v;
  }

  String string(String key, String def) {
    JsonNode v = value(key);
    if (v == null) {
      return def;
    }
    if (!v.isValueNode()) {
      problems.error(child(key), "expected a text value, found " + kind(v));
      return def;
    }
    return v.asText();
  }

  int integer(String key, int def, int min, int max) {
    JsonNode v = value(key);
    if (v == null) {
      return def;
    }
    if (v.isTextual() && v.asText().matches("-?\\d+")) {
      // text from ${VAR} interpolation; it may be any length
      v = com.fasterxml.jackson.databind.node.BigIntegerNode.valueOf(new java.math.BigInteger(v.asText()));
    }
    if (!v.isIntegralNumber()) {
      problems.error(child(key), "expected a whole number, found " + kind(v));
      return def;
    }
    if (!v.canConvertToInt()) {
      problems.error(child(key), "must be between " + min + " and " + max + ", found " + v.asText());
      return def;
    }
    int i = v.asInt();
    if (i < min || i > max) {
      problems.error(child(key), "must be between " + min + " and " + max + ", found " + i);
      return def;
    }
    return i;
  }

  double decimal(String key, double def, double min, double max) {
    JsonNode v = value(key);
    if (v == null) {
      return def;
    }
    double d;
    if (v.isNumber()) {
      d = v.asDouble();
    } else if (v.isTextual() && v.asText().trim().matches("-?\\d+(\\.\\d+)?")) {
      d = Double.parseDouble(v.asText().trim());
    } else {
      problems.error(child(key), "expected a number, found " + kind(v));
      return def;
    }
    if (d < min || d > max) {
      problems.error(child(key), "must be between " + min + " and " + max + ", found " + d);
      return def;
    }
    return d;
  }

  /** A duration, or {@code null} for {@code auto} (and when absent and the default is null). */
  Duration durationOrAuto(String key, Duration def) {
    JsonNode v = value(key);
    if (v != null && v.isTextual() && v.asText().trim().equalsIgnoreCase("auto")) {
      return null;
    }
    return duration(key, def);
  }

  long longValue(String key, long def) {
    JsonNode v = value(key);
    if (v == null) {
      return def;
    }
    if (v.isTextual() && v.asText().matches("-?\\d+")) {
      v = com.fasterxml.jackson.databind.node.BigIntegerNode.valueOf(new java.math.BigInteger(v.asText()));
    }
    if (!v.isIntegralNumber()) {
      problems.error(child(key), "expected a whole number, found " + kind(v));
      return def;
    }
    if (!v.canConvertToLong()) {
      problems.error(child(key), "is too large for a whole number: " + v.asText());
      return def;
    }
    return v.asLong();
  }

  boolean bool(String key, boolean def) {
    JsonNode v = value(key);
    if (v == null) {
      return def;
    }
    if (v.isBoolean()) {
      return v.asBoolean();
    }
    if (v.isTextual()) {
      String s = v.asText().trim().toLowerCase(Locale.ROOT);
      if (s.equals("true") || s.equals("false")) {
        return Boolean.parseBoolean(s);
      }
      if (s.isEmpty()) {
        return def;
      }
    }
    problems.error(child(key), "expected true or false, found " + kind(v));
    return def;
  }

  Duration duration(String key, Duration def) {
    JsonNode v = value(key);
    if (v == null) {
      return def;
    }
    String text = v.isNumber() ? v.asText() : v.isTextual() ? v.asText() : null;
    Duration d = text == null ? null : Durations.parse(text);
    if (d == null) {
      problems.error(child(key), "expected a positive duration such as 250ms, 2.5s or 1m, found "
          + (text == null ? kind(v) : "'" + text + "'"));
      return def;
    }
    return d;
  }

  long size(String key, long def) {
    JsonNode v = value(key);
    if (v == null) {
      return def;
    }
    String text = v.isIntegralNumber() || v.isTextual() ? v.asText().trim().toLowerCase(Locale.ROOT) : null;
    Matcher m = text == null ? null : SIZE.matcher(text);
    long n = m != null && m.matches() ? parsePositive(m.group(1)) : -1;
    if (n <= 0) {
      problems.error(child(key), "expected a size such as 512KiB, 8MiB or a number of bytes, found " + kind(v));
      return def;
    }
    String unit = m.group(2) == null ? "b" : m.group(2);
    long factor = switch (unit) {
      case "kb" -> 1000;
      case "kib" -> 1L << 10;
      case "mb" -> 1_000_000;
      case "mib" -> 1L << 20;
      case "gb" -> 1_000_000_000;
      case "gib" -> 1L << 30;
      default -> 1;
    };
    if (n > Long.MAX_VALUE / factor) {
      problems.error(child(key), "size " + v.asText() + " is too large");
      return def;
    }
    return n * factor;
  }

  /** The value of a string of digits, or -1 when it is zero or does not fit in a long. */
  private static long parsePositive(String digits) {
    try {
      long n = Long.parseLong(digits);
      return n > 0 ? n : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  Section section(String key) {
    return new Section(value(key), child(key), problems);
  }

  List<Section> list(String key) {
    JsonNode v = value(key);
    List<Section> out = new ArrayList<>();
    if (v == null) {
      return out;
    }
    if (!v.isArray()) {
      problems.error(child(key), "expected a list, found " + kind(v));
      return out;
    }
    for (int i = 0; i < v.size(); i++) {
      out.add(new Section(v.get(i), child(key) + "[" + i + "]", problems));
    }
    return out;
  }

  List<String> strings(String key) {
    JsonNode v = value(key);
    List<String> out = new ArrayList<>();
    if (v == null) {
      return out;
    }
    if (v.isTextual()) {
      out.add(v.asText());
      return out;
    }
    if (!v.isArray()) {
      problems.error(child(key), "expected a list of names, found " + kind(v));
      return out;
    }
    for (int i = 0; i < v.size(); i++) {
      if (!v.get(i).isTextual()) {
        problems.error(child(key) + "[" + i + "]", "expected a name, found " + kind(v.get(i)));
      } else {
        out.add(v.get(i).asText());
      }
    }
    return out;
  }

  /** The keys of this mapping (marked as known). */
  List<String> keys() {
    List<String> out = new ArrayList<>();
    if (node.isObject()) {
      node.fieldNames().forEachRemaining(k -> {
        known.add(k);
        out.add(k);
      });
    }
    return out;
  }

  /** The entries of a mapping whose keys are names chosen by the user (providers, models). */
  Map<String, Section> entries(String key) {
    JsonNode v = value(key);
    Map<String, Section> out = new LinkedHashMap<>();
    if (v == null) {
      return out;
    }
    if (!v.isObject()) {
      problems.error(child(key), "expected a mapping of names, found " + kind(v));
      return out;
    }
    v.fields().forEachRemaining(e -> out.put(e.getKey(), new Section(e.getValue(), child(key) + "." + e.getKey(), problems)));
    return out;
  }

  Map<String, String> stringMap(String key) {
    JsonNode v = value(key);
    Map<String, String> out = new LinkedHashMap<>();
    if (v == null) {
      return out;
    }
    if (!v.isObject()) {
      problems.error(child(key), "expected a mapping of names to values, found " + kind(v));
      return out;
    }
    v.fields().forEachRemaining(e -> {
      if (e.getValue().isValueNode()) {
        out.put(e.getKey(), e.getValue().asText());
      } else {
        problems.error(child(key) + "." + e.getKey(), "expected a text value, found " + kind(e.getValue()));
      }
    });
    return out;
  }

  /** Reports keys this section does not understand, the usual sign of a typo. */
  void rejectUnknown() {
    if (!node.isObject()) {
      return;
    }
    node.fieldNames().forEachRemaining(k -> {
      if (!known.contains(k)) {
        problems.error(child(k), "unknown key '" + k + "'; expected one of " + known);
      }
    });
  }

  static String kind(JsonNode v) {
    if (v.isTextual()) {
      return "'" + v.asText() + "'";
    }
    if (v.isNumber()) {
      return "the number " + v.asText();
    }
    if (v.isBoolean()) {
      return v.asText();
    }
    if (v.isArray()) {
      return "a list";
    }
    if (v.isObject()) {
      return "a mapping";
    }
    return "nothing";
  }
}
