package dev.sluice.stream;

/**
 * Reads the {@code "usage": {...}} member of an answer straight from its bytes, without a JSON
 * parser: this runs once per answer on the event loop, where a parser's set-up costs more than the
 * few dozen bytes it reads. It answers only for the shape providers send (an object whose token
 * counts are plain non-negative integers); for anything else it returns {@code null} and the caller
 * asks a real parser, so an unusual answer is read correctly, only slower.
 */
final class UsageMember {
  private final byte[] b;
  private int i;

  private UsageMember(byte[] b, int from) {
    this.b = b;
    this.i = from;
  }

  /**
   * {@code bytes} starts with {@code "usage"}; returns its token counts, {@link Usage#UNKNOWN} when it
   * names neither count, or null when the text is not the expected shape.
   */
  static Usage read(byte[] bytes) {
    return read(bytes, 0);
  }

  /** The same for a member that starts at {@code from}. */
  static Usage read(byte[] bytes, int from) {
    return new UsageMember(bytes, from + 7).object();
  }

  private Usage object() {
    if (!skipTo(':') || !skipTo('{')) {
      return null;
    }
    int prompt = -1;
    int completion = -1;
    skipSpace();
    if (peek() == '}') {
      return Usage.UNKNOWN;
    }
    while (true) {
      if (!skipTo('"')) {
        return null;
      }
      int nameFrom = i;
      while (i < b.length && b[i] != '"') {
        if (b[i] == '\\') {
          return null;
        }
        i++;
      }
      int nameTo = i++;
      if (!skipTo(':')) {
        return null;
      }
      skipSpace();
      int c = peek();
      boolean isPrompt = named(nameFrom, nameTo, "prompt_tokens");
      if (isPrompt || named(nameFrom, nameTo, "completion_tokens")) {
        int v = count();
        if (v == -2) {
          return null; // not a plain count: the parser decides what that means
        }
        if (v >= 0) {
          if (isPrompt) {
            prompt = v;
          } else {
            completion = v;
          }
        }
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        while (i < b.length && ((b[i] >= '0' && b[i] <= '9') || b[i] == '-' || b[i] == '+' || b[i] == '.'
            || b[i] == 'e' || b[i] == 'E')) {
          i++;
        }
      } else if (!skipValue()) {
        return null;
      }
      skipSpace();
      c = peek();
      i++;
      if (c == '}') {
        return prompt < 0 && completion < 0 ? Usage.UNKNOWN : new Usage(prompt, completion);
      }
      if (c != ',') {
        return null;
      }
    }
  }

  /**
   * A count: a plain non-negative int; -1 for a value that is not a number (skipped, as the parser
   * does); -2 for a number of another form.
   */
  private int count() {
    int c = peek();
    if (c < '0' || c > '9') {
      return skipValue() ? -1 : -2;
    }
    long v = 0;
    int digits = 0;
    while (i < b.length && b[i] >= '0' && b[i] <= '9') {
      v = v * 10 + (b[i++] - '0');
      digits++;
    }
    int next = peek();
    if (next == '.' || next == 'e' || next == 'E' || digits > 9 || (digits > 1 && c == '0')) {
      return -2;
    }
    return (int) v;
  }

  /** Skips a string, object, array or literal; false for anything else. */
  private boolean skipValue() {
    int c = peek();
    if (c == '"') {
      i++;
      return skipStringRest();
    }
    if (c == '{' || c == '[') {
      int depth = 0;
      while (i < b.length) {
        int x = b[i++];
        if (x == '"') {
          if (!skipStringRest()) {
            return false;
          }
        } else if (x == '{' || x == '[') {
          depth++;
        } else if ((x == '}' || x == ']') && --depth == 0) {
          return true;
        }
      }
      return false;
    }
    if (c == 't' || c == 'f' || c == 'n') {
      while (i < b.length && b[i] >= 'a' && b[i] <= 'z') {
        i++;
      }
      return true;
    }
    return false;
  }

  /** After an opening quote: past the closing one. */
  private boolean skipStringRest() {
    while (i < b.length) {
      int x = b[i++];
      if (x == '\\') {
        i++;
      } else if (x == '"') {
        return true;
      }
    }
    return false;
  }

  private boolean named(int from, int to, String name) {
    if (to - from != name.length()) {
      return false;
    }
    for (int k = 0; k < name.length(); k++) {
      if (b[from + k] != name.charAt(k)) {
        return false;
      }
    }
    return true;
  }

  /** Skips white space, then expects {@code c} and steps past it. */
  private boolean skipTo(char c) {
    skipSpace();
    if (peek() != c) {
      return false;
    }
    i++;
    return true;
  }

  private void skipSpace() {
    while (i < b.length && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) {
      i++;
    }
  }

  private int peek() {
    return i < b.length ? b[i] : -1;
  }
}
