package dev.sluice.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Maps each key path of a YAML document ({@code models.demo.deployments[1].weight}) to its line,
 * so that configuration problems can say where they are. Tree binding loses locations; one
 * streaming pass keeps them.
 */
final class YamlLocator {
  private final Map<String, Integer> lines = new HashMap<>();

  private YamlLocator() {}

  static YamlLocator of(String yaml) {
    YamlLocator loc = new YamlLocator();
    try (JsonParser p = new YAMLFactory().createParser(yaml)) {
      loc.walk(p);
    } catch (IOException | RuntimeException e) {
      // a document that does not parse is reported by the loader; locations are best effort
    }
    return loc;
  }

  int lineOf(String path) {
    String p = path;
    while (!p.isEmpty()) {
      Integer l = lines.get(p);
      if (l != null) {
        return l;
      }
      int cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      p = cut <= 0 ? "" : p.substring(0, cut);
    }
    return 0;
  }

  private void walk(JsonParser p) throws IOException {
    // each frame: the path of a container, and for arrays the next index
    Deque<String> paths = new ArrayDeque<>();
    Deque<int[]> indexes = new ArrayDeque<>();
    String field = null;
    JsonToken t;
    while ((t = p.nextToken()) != null) {
      switch (t) {
        case FIELD_NAME -> {
          field = p.currentName();
          lines.putIfAbsent(join(paths.peek(), field), p.currentTokenLocation().getLineNr());
        }
        case START_OBJECT, START_ARRAY -> {
          String here = childPath(paths, indexes, field, p);
          paths.push(here);
          indexes.push(new int[] {t == JsonToken.START_ARRAY ? 0 : -1});
          field = null;
        }
        case END_OBJECT, END_ARRAY -> {
          paths.pop();
          indexes.pop();
          field = null;
        }
        default -> {
          childPath(paths, indexes, field, p);
          field = null;
        }
      }
    }
  }

  private String childPath(Deque<String> paths, Deque<int[]> indexes, String field, JsonParser p) {
    String parent = paths.peek();
    int[] idx = indexes.peek();
    String here;
    if (idx != null && idx[0] >= 0) {
      here = (parent == null ? "" : parent) + "[" + idx[0]++ + "]";
      lines.putIfAbsent(here, p.currentTokenLocation().getLineNr());
    } else if (field != null) {
      here = join(parent, field);
    } else {
      here = parent == null ? "" : parent;
    }
    return here;
  }

  private static String join(String parent, String field) {
    return parent == null || parent.isEmpty() ? field : parent + "." + field;
  }
}
