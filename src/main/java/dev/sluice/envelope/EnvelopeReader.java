package dev.sluice.envelope;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import dev.sluice.errors.ApiError;
import java.io.CharConversionException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads the {@link Envelope} of a request body in one streaming pass and rejects bad input before
 * any provider is involved: malformed JSON, invalid UTF-8 (the whole body is checked strictly, since
 * it is forwarded as bytes), wrong types of the fields the gateway understands, and missing or
 * empty required fields. Fields it does not know are only checked for well-formedness.
 */
public final class EnvelopeReader {
  /**
   * Top-level fields whose value the gateway acts on. Written twice, the gateway would act on the
   * last while an upstream that keeps the first sees another model or mode, and only the last
   * {@code timeout} would be removed before forwarding.
   */
  private static final java.util.List<String> OWN_FIELDS =
      java.util.List.of("model", "stream", "timeout", "max_tokens", "max_completion_tokens", "stream_options");

  /** Model names longer than this are refused: real ones are a few dozen characters. */
  static final int MAX_MODEL_LENGTH = 256;

  private final JsonFactory factory;
  private final int maxMessages;

  public EnvelopeReader(long maxBodyBytes, int maxMessages) {
    int maxString = (int) Math.min(Integer.MAX_VALUE, Math.max(maxBodyBytes, 1 << 20));
    this.factory = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxStringLength(maxString)
            .maxNestingDepth(128)
            .build())
        .build();
    this.maxMessages = maxMessages;
  }

  public Envelope read(byte[] body, int length, Endpoint endpoint) {
    // Jackson decodes UTF-8 leniently (overlong forms and encoded surrogates pass, a truncated
    // sequence in a key reads as a syntax error); the body goes upstream as bytes, so check them all
    if (!isValidUtf8(body, length)) {
      throw invalidUtf8();
    }
    try (JsonParser p = factory.createParser(body, 0, length)) {
      return readObject(p, body, length, endpoint);
    } catch (ApiError.Rejection r) {
      throw r;
    } catch (CharConversionException e) {
      throw invalidUtf8();
    } catch (StreamConstraintsException e) {
      throw ApiError.invalid("invalid_json", null, "request body is too deeply nested or has an oversized value: "
          + firstLine(e.getOriginalMessage())).rejection();
    } catch (IOException e) {
      String msg = e.getMessage() == null ? "" : e.getMessage();
      if (msg.contains("Invalid UTF-8")) {
        throw invalidUtf8();
      }
      String detail = e instanceof com.fasterxml.jackson.core.JsonProcessingException jpe
          ? firstLine(jpe.getOriginalMessage()) : firstLine(msg);
      throw ApiError.invalid("invalid_json", null,
          "request body is not valid JSON: " + detail).rejection();
    }
  }

  private Envelope readObject(JsonParser p, byte[] body, int length, Endpoint endpoint) throws IOException {
    if (p.nextToken() != JsonToken.START_OBJECT) {
      throw ApiError.invalid("invalid_json", null, "request body must be a JSON object").rejection();
    }
    String model = null;
    boolean modelPresent = false;
    boolean stream = false;
    int maxTokens = -1;
    int choices = 1;
    long timeoutNanos = -1;
    int messages = -1;
    boolean includeUsage = false;
    boolean hasPrompt = false;
    boolean hasInput = false;
    int modelStart = -1;
    int modelEnd = -1;
    int timeoutStart = -1;
    int timeoutEnd = -1;
    int nullLimitAt = -1;

    int seen = 0;
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      int own = OWN_FIELDS.indexOf(name);
      if (own >= 0) {
        if ((seen & (1 << own)) != 0) {
          throw ApiError.invalid("duplicate_parameter", name, "'" + name + "' appears more than once; the gateway "
              + "and the provider could read different values").rejection();
        }
        seen |= 1 << own;
      }
      int nameStart = (int) p.currentTokenLocation().getByteOffset();
      JsonToken v = p.nextToken();
      switch (name) {
        case "model" -> {
          modelPresent = true;
          if (v != JsonToken.VALUE_STRING) {
            throw wrongType("model", "a string", v);
          }
          model = p.getText();
          modelStart = (int) p.currentTokenLocation().getByteOffset();
          modelEnd = endOfString(body, modelStart, length);
        }
        case "stream" -> {
          if (v == JsonToken.VALUE_TRUE || v == JsonToken.VALUE_FALSE) {
            stream = v == JsonToken.VALUE_TRUE;
          } else if (v != JsonToken.VALUE_NULL) {
            throw wrongType("stream", "a boolean", v);
          }
        }
        case "max_tokens", "max_completion_tokens" -> {
          if (v == JsonToken.VALUE_NUMBER_INT) {
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
              throw ApiError.invalid("invalid_value", name, "'" + name + "' must be a positive integer, found "
                  + p.getText()).rejection();
            }
            long n = p.getLongValue();
            if (n < 1 || n > Integer.MAX_VALUE) {
              throw ApiError.invalid("invalid_value", name, "'" + name + "' must be a positive integer, found " + n)
                  .rejection();
            }
            // both may be given; a provider may honour either, so the larger is what the request may cost
            maxTokens = Math.max(maxTokens, (int) n);
          } else if (v == JsonToken.VALUE_NULL) {
            if (nullLimitAt < 0) {
              nullLimitAt = (int) p.currentTokenLocation().getByteOffset();
            }
          } else {
            throw wrongType(name, "an integer", v);
          }
        }
        case "timeout" -> {
          if (v == JsonToken.VALUE_NUMBER_INT || v == JsonToken.VALUE_NUMBER_FLOAT) {
            double seconds = p.getDoubleValue();
            if (!(seconds > 0) || seconds > 86_400) {
              throw ApiError.invalid("invalid_value", "timeout",
                  "'timeout' must be a positive number of seconds, found " + p.getText()).rejection();
            }
            timeoutNanos = Math.max(1, (long) (seconds * 1e9));
            timeoutStart = nameStart;
            timeoutEnd = endOfNumber(body, (int) p.currentTokenLocation().getByteOffset(), length);
          } else if (v == JsonToken.VALUE_NULL) {
            timeoutStart = nameStart;
            timeoutEnd = (int) p.currentTokenLocation().getByteOffset() + 4;
          } else {
            throw wrongType("timeout", "a number of seconds", v);
          }
        }
        case "messages" -> {
          if (endpoint != Endpoint.CHAT) {
            consume(p, v);
            break;
          }
          if (v != JsonToken.START_ARRAY) {
            throw wrongType("messages", "an array of messages", v);
          }
          messages = readMessages(p);
        }
        case "prompt" -> {
          if (endpoint == Endpoint.COMPLETIONS) {
            if (v != JsonToken.VALUE_STRING && v != JsonToken.START_ARRAY) {
              throw wrongType("prompt", "a string or an array", v);
            }
            hasPrompt = true;
          }
          consume(p, v);
        }
        case "input" -> {
          if (endpoint == Endpoint.EMBEDDINGS) {
            if (v == JsonToken.VALUE_STRING) {
              hasInput = p.getTextLength() > 0;
            } else if (v == JsonToken.START_ARRAY) {
              hasInput = p.nextToken() != JsonToken.END_ARRAY;
              if (hasInput) {
                consume(p, p.currentToken());
                skipRestOfArray(p);
              }
              break;
            } else {
              throw wrongType("input", "a string or an array", v);
            }
          }
          consume(p, v);
        }
        case "stream_options" -> {
          if (v == JsonToken.START_OBJECT) {
            includeUsage = readIncludeUsage(p);
          } else if (v != JsonToken.VALUE_NULL) {
            throw wrongType("stream_options", "an object", v);
          }
        }
        case "n" -> {
          if (v == JsonToken.VALUE_NUMBER_INT) {
            long c = p.getNumberType() == JsonParser.NumberType.BIG_INTEGER ? -1 : p.getLongValue();
            if (c < 1 || c > 128) {
              throw ApiError.invalid("invalid_value", "n", "'n' must be between 1 and 128, found " + p.getText())
                  .rejection();
            }
            choices = (int) c;
          } else if (v != JsonToken.VALUE_NULL) {
            throw wrongType("n", "an integer", v);
          }
        }
        case "temperature", "top_p", "presence_penalty", "frequency_penalty" -> {
          if (v != JsonToken.VALUE_NUMBER_INT && v != JsonToken.VALUE_NUMBER_FLOAT && v != JsonToken.VALUE_NULL) {
            throw wrongType(name, "a number", v);
          }
        }
        default -> consume(p, v);
      }
    }
    if (t != JsonToken.END_OBJECT) {
      throw ApiError.invalid("invalid_json", null, "request body is not valid JSON").rejection();
    }
    if (p.nextToken() != null) {
      throw ApiError.invalid("invalid_json", null, "request body has data after its JSON object").rejection();
    }
    if (!modelPresent) {
      throw ApiError.invalid("missing_required_parameter", "model", "you must provide a model parameter")
          .rejection();
    }
    if (model.isBlank()) {
      throw ApiError.invalid("invalid_value", "model", "'model' must not be empty").rejection();
    }
    if (model.length() > MAX_MODEL_LENGTH || !printable(model)) {
      // a model name travels into headers, metrics, logs and the request log: keep it a name
      throw ApiError.invalid("invalid_value", "model", "'model' must be a name of at most " + MAX_MODEL_LENGTH
          + " printable characters").rejection();
    }
    if (stream && !endpoint.streamable()) {
      throw ApiError.invalid("invalid_value", "stream", "'stream' is not supported by " + endpoint.path())
          .rejection();
    }
    switch (endpoint) {
      case CHAT -> {
        if (messages < 0) {
          throw ApiError.invalid("missing_required_parameter", "messages", "you must provide 'messages'")
              .rejection();
        }
        if (messages == 0) {
          throw ApiError.invalid("invalid_value", "messages", "'messages' must not be empty").rejection();
        }
      }
      case COMPLETIONS -> {
        if (!hasPrompt) {
          throw ApiError.invalid("missing_required_parameter", "prompt", "you must provide 'prompt'").rejection();
        }
      }
      case EMBEDDINGS -> {
        if (!hasInput) {
          throw ApiError.invalid("missing_required_parameter", "input", "you must provide a non-empty 'input'")
              .rejection();
        }
      }
    }
    return new Envelope(endpoint, model, stream, maxTokens, timeoutNanos, Math.max(messages, 0), includeUsage,
        modelStart, modelEnd, timeoutStart, timeoutEnd, length, choices, nullLimitAt);
  }

  private static boolean printable(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
        return false;
      }
    }
    return true;
  }

  private int readMessages(JsonParser p) throws IOException {
    int count = 0;
    JsonToken t;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      if (t != JsonToken.START_OBJECT) {
        throw ApiError.invalid("invalid_type", "messages[" + count + "]",
            "each message must be an object with a 'role', found " + describe(t)).rejection();
      }
      if (++count > maxMessages) {
        throw ApiError.invalid("too_many_messages", "messages",
            "'messages' has more than the " + maxMessages + " messages this gateway accepts").rejection();
      }
      boolean role = false;
      JsonToken f;
      while ((f = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if (name.equals("role")) {
          if (v != JsonToken.VALUE_STRING) {
            throw wrongType("messages[" + (count - 1) + "].role", "a string", v);
          }
          role = true;
        }
        consume(p, v);
      }
      if (!role) {
        throw ApiError.invalid("missing_required_parameter", "messages[" + (count - 1) + "].role",
            "each message must have a 'role'").rejection();
      }
    }
    return count;
  }

  private static boolean readIncludeUsage(JsonParser p) throws IOException {
    boolean include = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      if (name.equals("include_usage")) {
        if (v != JsonToken.VALUE_TRUE && v != JsonToken.VALUE_FALSE && v != JsonToken.VALUE_NULL) {
          throw wrongType("stream_options.include_usage", "a boolean", v);
        }
        include = v == JsonToken.VALUE_TRUE;
      }
      consume(p, v);
    }
    return include;
  }

  private static void skipRestOfArray(JsonParser p) throws IOException {
    JsonToken t;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      consume(p, t);
    }
  }

  /** Walks a value to its end, decoding every string so that invalid UTF-8 is caught. */
  private static void consume(JsonParser p, JsonToken t) throws IOException {
    if (t == JsonToken.VALUE_STRING) {
      p.getTextCharacters();
      return;
    }
    if (t != JsonToken.START_OBJECT && t != JsonToken.START_ARRAY) {
      return;
    }
    int depth = 1;
    while (depth > 0) {
      JsonToken n = p.nextToken();
      if (n == null) {
        throw new com.fasterxml.jackson.core.JsonParseException(p, "unexpected end of input");
      }
      switch (n) {
        case START_OBJECT, START_ARRAY -> depth++;
        case END_OBJECT, END_ARRAY -> depth--;
        case VALUE_STRING, FIELD_NAME -> p.getTextCharacters();
        default -> { }
      }
    }
  }

  /** Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing beyond U+10FFFF. */
  static boolean isValidUtf8(byte[] body, int length) {
    int i = 0;
    while (i < length && body[i] >= 0) {
      i++;
    }
    if (i == length) {
      return true;
    }
    CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(body, i, length - i);
    CharBuffer out = CharBuffer.allocate(Math.min(length - i, 8192) + 1);
    while (true) {
      CoderResult r = decoder.decode(in, out, true);
      if (r.isError()) {
        return false;
      }
      if (r.isUnderflow()) {
        return !decoder.flush(out).isError();
      }
      out.clear();
    }
  }

  static int endOfString(byte[] body, int quote, int length) {
    for (int i = quote + 1; i < length; i++) {
      byte b = body[i];
      if (b == '\\') {
        i++;
      } else if (b == '"') {
        return i + 1;
      }
    }
    return length;
  }

  static int endOfNumber(byte[] body, int start, int length) {
    int i = start;
    while (i < length) {
      byte b = body[i];
      if ((b >= '0' && b <= '9') || b == '-' || b == '+' || b == '.' || b == 'e' || b == 'E') {
        i++;
      } else {
        break;
      }
    }
    return i;
  }

  private static ApiError.Rejection wrongType(String param, String expected, JsonToken found) {
    return ApiError.invalid("invalid_type", param,
        "'" + param + "' must be " + expected + ", found " + describe(found)).rejection();
  }

  private static ApiError.Rejection invalidUtf8() {
    return ApiError.invalid("invalid_encoding", null, "request body is not valid UTF-8").rejection();
  }

  private static String describe(JsonToken t) {
    if (t == null) {
      return "nothing";
    }
    return switch (t) {
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT -> "an integer";
      case VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      case START_ARRAY -> "an array";
      case START_OBJECT -> "an object";
      default -> t.asString();
    };
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
