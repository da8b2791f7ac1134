package dev.sluice.envelope;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/**
 * Produces the body sent upstream: the client's bytes, with the model name replaced by the
 * deployment's upstream name and the gateway-only {@code timeout} field removed. Untouched bodies
 * are forwarded as the same buffer, without a copy.
 */
public final class BodyRewriter {
  private BodyRewriter() {}

  public static Buffer forUpstream(Buffer original, byte[] bytes, Envelope env, String upstreamModel) {
    boolean renameModel = !upstreamModel.equals(env.model());
    if (!renameModel && !env.hasTimeoutField()) {
      return original;
    }
    int len = env.bodyLength();
    int cutStart = -1;
    int cutEnd = -1;
    if (env.hasTimeoutField()) {
      int[] cut = widenForComma(bytes, env.timeoutStart(), env.timeoutEnd(), len);
      cutStart = cut[0];
      cutEnd = cut[1];
    }
    byte[] newModel = renameModel ? quote(upstreamModel) : null;
    Buffer out = Buffer.buffer(len + (newModel == null ? 0 : newModel.length));
    int pos = 0;
    // apply the (at most two, non-overlapping) edits in order of position
    int[][] edits = new int[2][];
    int n = 0;
    if (renameModel) {
      edits[n++] = new int[] {env.modelStart(), env.modelEnd(), 0};
    }
    if (cutStart >= 0) {
      edits[n++] = new int[] {cutStart, cutEnd, 1};
    }
    if (n == 2 && edits[0][0] > edits[1][0]) {
      int[] tmp = edits[0];
      edits[0] = edits[1];
      edits[1] = tmp;
    }
    for (int i = 0; i < n; i++) {
      int[] e = edits[i];
      out.appendBytes(bytes, pos, e[0] - pos);
      if (e[2] == 0) {
        out.appendBytes(newModel);
      }
      pos = e[1];
    }
    out.appendBytes(bytes, pos, len - pos);
    return out;
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
