package dev.sluice.server;

import dev.sluice.config.Secret;
import dev.sluice.errors.ApiError;
import dev.sluice.errors.ErrorResponder;
import dev.sluice.errors.SluiceHeaders;
import io.netty.util.NetUtil;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * Guards {@code /admin/*} and the dashboard's data: with an admin key, a request must carry it as
 * {@code Authorization: Bearer <key>} (compared in constant time; the live view's WebSocket also
 * takes it among its subprotocols); without one, only loopback clients are let in.
 */
final class AdminAuth implements Handler<RoutingContext> {
  /** The live view's WebSocket subprotocol, the one the gateway selects. */
  static final String LIVE_PROTOCOL = "sluice.live";
  /** The prefix of the subprotocol that carries the admin key. */
  static final String KEY_PROTOCOL = "sluice.key.";
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
    } else if ("/admin/live".equals(req.path())) {
      token = liveToken(req);
    }
    return token != null && MessageDigest.isEqual(keyDigest, sha256(token));
  }

  /**
   * A browser cannot set Authorization on a WebSocket upgrade, but it can offer subprotocols: the
   * page offers {@value #LIVE_PROTOCOL} and the key as {@value #KEY_PROTOCOL}&lt;base64url of its
   * UTF-8&gt;, and the gateway answers with the first (the key is not echoed). {@code ?access_token=}
   * is still taken from other clients, here only: a key in a URL lands in proxy logs.
   */
  private static String liveToken(HttpServerRequest req) {
    for (String header : req.headers().getAll("sec-websocket-protocol")) {
      for (String offered : header.split(",")) {
        String p = offered.trim();
        if (p.startsWith(KEY_PROTOCOL)) {
          try {
            return new String(Base64.getUrlDecoder().decode(p.substring(KEY_PROTOCOL.length())), StandardCharsets.UTF_8);
          } catch (IllegalArgumentException notBase64) {
            return null;
          }
        }
      }
    }
    return req.getParam("access_token");
  }

  /**
   * A client on this machine, talking to it directly. Not enough on its own to trust: a reverse
   * proxy on the same host relays everyone from 127.0.0.1 (so forwarded requests do not count), and
   * a web page can reach loopback through a DNS name it controls (so the Host must be a loopback
   * name) or open a WebSocket cross-site (so a browser's Origin must be loopback too).
   */
  static boolean isLoopback(HttpServerRequest req) {
    if (req.remoteAddress() == null) {
      return false;
    }
    String h = req.remoteAddress().hostAddress();
    if (h == null || !loopbackName(h)) {
      return false;
    }
    if (req.getHeader(SluiceHeaders.FORWARDED) != null || req.getHeader(SluiceHeaders.X_FORWARDED_FOR) != null
        || req.getHeader(SluiceHeaders.X_REAL_IP) != null || req.getHeader(SluiceHeaders.VIA) != null) {
      return false;
    }
    String host = req.authority() == null ? null : req.authority().host();
    if (host != null && !loopbackName(host)) {
      return false;
    }
    String origin = req.getHeader(HttpHeaders.ORIGIN);
    if (origin != null) {
      try {
        String oh = java.net.URI.create(origin).getHost();
        return oh != null && loopbackName(oh);
      } catch (IllegalArgumentException e) {
        return false;
      }
    }
    return true;
  }

  private static boolean loopbackName(String host) {
    String h = host.toLowerCase(java.util.Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    // 127.x only as an address literal: a DNS name may merely start with "127." (DNS rebinding).
    // Checked on every request in open mode, so no regular expression (compiled at each call)
    return h.equals("localhost") || h.endsWith(".localhost") || (h.startsWith("127.") && NetUtil.isValidIpV4Address(h))
        || h.equals("::1") || h.equals("0:0:0:0:0:0:0:1");
  }

  static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
