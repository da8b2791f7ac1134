package dev.sluice.server;

import dev.sluice.config.Secret;
import dev.sluice.errors.ApiError;
import dev.sluice.errors.ErrorResponder;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Guards {@code /admin/*} and the dashboard's data: with an admin key, a request must carry it as
 * {@code Authorization: Bearer <key>} (compared in constant time); without one, only loopback
 * clients are let in.
 */
final class AdminAuth implements Handler<RoutingContext> {
  private final byte[] keyDigest;

  AdminAuth(Secret adminKey) {
    this.keyDigest = adminKey.isEmpty() ? null : sha256(adminKey.reveal());
  }

  boolean open() {
    return keyDigest == null;
  }

  @Override
  public void handle(RoutingContext ctx) {
    if (allowed(ctx.request())) {
      ctx.next();
    } else if (keyDigest == null) {
      ErrorResponder.send(ctx.response(), new ApiError(403, "permission_error", "admin_loopback_only", null,
          "the admin API answers only on loopback until SLUICE_ADMIN_KEY is set"));
    } else {
      ctx.response().putHeader("www-authenticate", "Bearer");
      ErrorResponder.send(ctx.response(), new ApiError(401, "authentication_error", "invalid_admin_key", null,
          "this endpoint needs the admin key as 'Authorization: Bearer <key>'"));
    }
  }

  boolean allowed(HttpServerRequest req) {
    if (keyDigest == null) {
      return isLoopback(req);
    }
    String auth = req.getHeader("authorization");
    String token = null;
    if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
      token = auth.substring(7).trim();
    } else if (req.getParam("access_token") != null) {
      token = req.getParam("access_token"); // browsers cannot set headers on WebSocket upgrades
    }
    return token != null && MessageDigest.isEqual(keyDigest, sha256(token));
  }

  static boolean isLoopback(HttpServerRequest req) {
    if (req.remoteAddress() == null) {
      return false;
    }
    String h = req.remoteAddress().hostAddress();
    return h != null && (h.startsWith("127.") || h.equals("0:0:0:0:0:0:0:1") || h.equals("::1"));
  }

  static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
