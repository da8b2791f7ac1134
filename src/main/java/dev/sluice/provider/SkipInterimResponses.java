package dev.sluice.provider;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;
import java.lang.reflect.Field;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drops interim responses ({@code 1xx} other than {@code 101}: {@code 102 Processing}, {@code 103
 * Early Hints}, ...) that a provider, or a proxy in front of it, sends before its answer on an
 * HTTP/1.1 connection, so that the answer is read as the response to its request.
 *
 * <p>Vert.x's HTTP/1.1 client handles {@code 100} and {@code 103} itself but takes any other
 * {@code 1xx} for the final response: the exchange would end on the interim head while the real
 * answer was still to come on the connection. The gateway cannot use that head (a client must get
 * a final status), and had it put the connection back in its pool, the next request on it would
 * have read the previous request's answer. With this handler, placed between Netty's HTTP codec and
 * Vert.x's connection handler, Vert.x never sees an interim response. (Should it ever meet one, for
 * example over HTTP/2 where this handler is not installed, the attempt fails as a protocol error and
 * the connection is closed.)
 *
 * <p>One instance per connection: it remembers whether it is inside a dropped response.
 */
final class SkipInterimResponses extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(SkipInterimResponses.class);
  static final String NAME = "sluice-skip-interim";
  /** Vert.x's name for its own handler in an HTTP/1.x client pipeline. */
  private static final String VERTX_HANDLER = "handler";
  private static final AtomicBoolean WARNED = new AtomicBoolean();
  private static final Field WRAPPED = wrapped();

  private boolean dropping;

  /**
   * Installs the handler on a new HTTP/1.x connection of Vert.x's client, before its first request;
   * a no-op on HTTP/2 (whose pipeline has no such handler). Vert.x offers no hook into the pipeline
   * of a connection made with {@code HttpClient.connect}: the channel is reached through Vert.x's
   * internal classes (the connection it wraps, read reflectively, and its {@code channel()}). If a
   * Vert.x version changes them, this says so once and leaves the connection as it is; interim
   * responses then fail their attempt as a protocol error (a 502) instead of being skipped, and
   * {@code InterimResponseTest} fails to tell.
   */
  static void install(HttpConnection conn) {
    ChannelPipeline p = pipeline(conn);
    if (p == null) {
      if (WARNED.compareAndSet(false, true)) {
        LOG.warn("upstream: cannot reach the channel of {}; interim 1xx responses will fail requests instead of"
            + " being skipped", conn.getClass().getName());
      }
      return;
    }
    if (p.get(VERTX_HANDLER) != null && p.get(NAME) == null) {
      p.addBefore(VERTX_HANDLER, NAME, new SkipInterimResponses());
    }
  }

  private static ChannelPipeline pipeline(HttpConnection conn) {
    Object c = conn;
    if (!(c instanceof ConnectionBase) && WRAPPED != null && WRAPPED.getDeclaringClass().isInstance(c)) {
      try {
        c = WRAPPED.get(c);
      } catch (IllegalAccessException e) {
        return null;
      }
    }
    return c instanceof ConnectionBase base ? base.channel().pipeline() : null;
  }

  /** The connection that Vert.x's unpooled client connection wraps, or null if this Vert.x has none. */
  private static Field wrapped() {
    try {
      Field f = Class.forName("io.vertx.core.http.impl.UnpooledHttpClientConnection").getDeclaredField("actual");
      f.setAccessible(true);
      return f;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  static boolean interim(int status) {
    return status >= 100 && status < 200 && status != 101;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpResponse r && interim(r.status().code())) {
      dropping = !(msg instanceof LastHttpContent);
      ReferenceCountUtil.release(msg);
      return;
    }
    if (dropping && msg instanceof HttpContent) {
      dropping = !(msg instanceof LastHttpContent);
      ReferenceCountUtil.release(msg);
      return;
    }
    ctx.fireChannelRead(msg);
  }
}
