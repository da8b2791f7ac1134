package dev.sluice.envelope;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/**
 * Produces the body sent upstream: the client's bytes, with the model name replaced by the
 * deployment's upstream name, the gateway-only {@code timeout} field removed, and a token ceiling
 * added when the request sets none but its key or model has one. Untouched bodies are forwarded as
 * the same buffer, without a copy.
 */
public final class BodyRewriter {
  private static final java.util.Comparator<int[]> BY_START = java.util.Comparator.comparingInt(e -> e[0]);

  private BodyRewriter() {}

  public static Buffer forUpstream(Buffer original, byte[] bytes, Envelope env, String upstreamModel) {
    return forUpstream(original, bytes, env, upstreamModel, null, -1);
  }

  /**
   * @param ceilingField {@code max_tokens} or {@code max_completion_tokens}: the member to add
   *                     when {@code ceiling} is positive and the request has no token limit of its
   *                     own (admission has refused a request whose limit is above the ceiling)
   * @param ceiling      the ceiling to add, or -1 for none
   */
  public static Buffer forUpstream(Buffer original, byte[] bytes, Envelope env, String upstreamModel,
      String ceilingField, int ceiling) {
    boolean renameModel = !upstreamModel.equals(env.model());
    boolean addCeiling = ceiling > 0 && env.maxTokens() < 0;
    if (!renameModel && !env.hasTimeoutField() && !addCeiling) {
      return original;
    }
    int len = env.bodyLength();
    // the edits, at most three and never overlapping, in order of position: {start, end, kind}
    int[][] edits = new int[3][];
    int n = 0;
    byte[] limit = null;
    if (addCeiling && env.nullLimitAt() >= 0) {
      // the request names the member with null: the ceiling takes the null's place (a second
      // member of the same name would leave servers to choose between the two)
      limit = Integer.toString(ceiling).getBytes(StandardCharsets.US_ASCII);
      edits[n++] = new int[] {env.nullLimitAt(), env.nullLimitAt() + 4, 2};
    } else if (addCeiling) {
      limit = ("\"" + ceilingField + "\":" + ceiling + ",").getBytes(StandardCharsets.US_ASCII);
      int open = openingBrace(bytes, len);
      edits[n++] = new int[] {open + 1, open + 1, 2};
    }
    if (renameModel) {
      edits[n++] = new int[] {env.modelStart(), env.modelEnd(), 0};
    }
    if (env.hasTimeoutField()) {
      int[] cut = widenForComma(bytes, env.timeoutStart(), env.timeoutEnd(), len);
      edits[n++] = new int[] {cut[0], cut[1], 1};
    }
    java.util.Arrays.sort(edits, 0, n, BY_START);
    byte[] newModel = renameModel ? quote(upstreamModel) : null;
    Buffer out = Buffer.buffer(len + (newModel == null ? 0 : newModel.length) + (limit == null ? 0 : limit.length));
    int pos = 0;
    for (int i = 0; i < n; i++) {
      int[] e = edits[i];
      out.appendBytes(bytes, pos, e[0] - pos);
      if (e[2] == 0) {
        out.appendBytes(newModel);
      } else if (e[2] == 2) {
        out.appendBytes(limit);
      }
      pos = e[1];
    }
    out.appendBytes(bytes, pos, len - pos);
    return out;
  }

  /**
   * The offset of the body's opening brace. The reader accepted the body as a JSON object, so only
   * white space or a byte-order mark can come before it, and the object has members (its model),
   * so a member added right after the brace is followed by a comma and the object stays valid.
   */
  private static int openingBrace(byte[] b, int len) {
    for (int i = 0; i < len; i++) {
      if (b[i] == '{') {
        return i;
      }
    }
    throw new IllegalStateException("the request body is not a JSON object");
  }

  /** Extends a removed member to one adjacent comma so that the object stays valid JSON. */
  static int[] widenForComma(byte[] b, int start, int end, int len) {
    int i = end;
    while (i < len && isSpace(b[i])) {
      i++;
    }
    if (i < len && b[i] == ',') {
      return new int[] {start, i + 1};
    }
    int j = start - 1;
    while (j >= 0 && isSpace(b[j])) {
      j--;
    }
    if (j >= 0 && b[j] == ',') {
      return new int[] {j, end};
    }
    return new int[] {start, end};
  }

  private static boolean isSpace(byte c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
  }

  private static byte[] quote(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(s, sb);
    return sb.append('"').toString().getBytes(StandardCharsets.UTF_8);
  }
}
