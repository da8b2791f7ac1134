package dev.sluice.store;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A selection of request log rows: a time range, equality filters, and a cursor (rows older than
 * the last one a previous page returned). Cursors are opaque to clients.
 *
 * @param sinceMillis inclusive, or -1
 * @param untilMillis exclusive, or -1
 * @param beforeId    only rows with a smaller id (the cursor), or -1
 */
public record LogFilter(long sinceMillis, long untilMillis, String model, String provider, String key,
    String outcome, long beforeId, int limit) {

  public static LogFilter all() {
    return new LogFilter(-1, -1, null, null, null, null, -1, 100);
  }

  /** The WHERE clause and its parameters. */
  String where(List<Object> params) {
    List<String> parts = new ArrayList<>();
    if (sinceMillis >= 0) {
      parts.add("ts >= ?");
      params.add(sinceMillis);
    }
    if (untilMillis >= 0) {
      parts.add("ts < ?");
      params.add(untilMillis);
    }
    if (model != null) {
      parts.add("model = ?");
      params.add(model);
    }
    if (provider != null) {
      parts.add("provider = ?");
      params.add(provider);
    }
    if (key != null) {
      parts.add("key_id = ?");
      params.add(key);
    }
    if (outcome != null) {
      parts.add("outcome = ?");
      params.add(outcome);
    }
    if (beforeId >= 0) {
      parts.add("id < ?");
      params.add(beforeId);
    }
    return parts.isEmpty() ? "" : " WHERE " + String.join(" AND ", parts);
  }

  public static String encodeCursor(long id) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(("r" + id).getBytes(StandardCharsets.US_ASCII));
  }

  /** The row id a cursor stands for, or -1 when it is not a cursor this gateway made. */
  public static long decodeCursor(String cursor) {
    try {
      String s = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.US_ASCII);
      if (!s.startsWith("r")) {
        return -1;
      }
      long id = Long.parseLong(s.substring(1));
      return id > 0 ? id : -1;
    } catch (IllegalArgumentException e) {
      return -1;
    }
  }
}
