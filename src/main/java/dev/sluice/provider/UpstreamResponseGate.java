package dev.sluice.provider;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpContentDecompressor;
import io.netty.handler.codec.http.HttpHeaderNames;
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
 * Stands between Netty's HTTP codec and Vert.x on every upstream HTTP/1.1 connection and hands
 * Vert.x each answer as the plain final response the gateway reads. Two jobs, both about what a
 * provider (or a proxy in front of it) may send that the gateway did not ask for:
 *
 * <ul>
 *   <li><b>Interim responses</b> ({@code 1xx} other than {@code 101}: {@code 102 Processing},
 *       {@code 103 Early Hints}, ...) are dropped. Vert.x's HTTP/1.1 client handles {@code 100} and
 *       {@code 103} itself but takes any other {@code 1xx} for the final response: the exchange would
 *       end on the interim head while the real answer was still to come on the connection, and had
 *       the connection gone back to the pool, the next request on it would have read the previous
 *       request's answer.
 *   <li><b>Compressed answers.</b> Upstream requests ask for {@code Accept-Encoding: identity}; an
 *       answer in {@code gzip} or {@code deflate} anyway (a CDN in front of a provider may do it) gets
 *       Netty's decompressor for that one response, put in after this handler when the head arrives
 *       and taken out after its last part. An uncompressed answer, nearly all of them, passes through
 *       no decoder: a decoder kept in every pipeline cost 4% of the CPU of each relayed stream.
 * </ul>
 *
 * <p>Where this handler is not installed (HTTP/2, or a Vert.x whose internals it cannot reach), an
 * interim response or a coded answer that reaches an attempt fails it as a protocol error, and the
 * connection is closed rather than reused.
 *
 * <p>One instance per connection: it remembers where it is in the current response.
 */
final class UpstreamResponseGate extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(UpstreamResponseGate.class);
  static final String NAME = "sluice-response-gate";
  static final String DECODER = "sluice-decompress";
  /** Vert.x's name for its own handler in an HTTP/1.x client pipeline. */
  private static final String VERTX_HANDLER = "handler";
  private static final AtomicBoolean WARNED = new AtomicBoolean();
  private static final Field WRAPPED = wrapped();

  private boolean dropping;
  /** The decompressor put in for the current response, or null. */
  private HttpContentDecompressor decoder;

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
        LOG.warn("upstream: cannot reach the channel of {}; interim 1xx responses and compressed answers will fail"
            + " requests instead of being skipped or decoded", conn.getClass().getName());
      }
      return;
    }
    if (p.get(VERTX_HANDLER) != null && p.get(NAME) == null) {
      p.addBefore(VERTX_HANDLER, NAME, new UpstreamResponseGate());
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

  /** Whether Netty's decompressor reads this coding (Brotli and zstd only with their optional libraries). */
  static boolean decodable(String coding) {
    String c = coding.trim();
    return c.equalsIgnoreCase("gzip") || c.equalsIgnoreCase("x-gzip") || c.equalsIgnoreCase("deflate")
        || c.equalsIgnoreCase("x-deflate");
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpResponse r) {
      if (interim(r.status().code())) {
        dropping = !(msg instanceof LastHttpContent);
        ReferenceCountUtil.release(msg);
        return;
      }
      String coding = r.headers().get(HttpHeaderNames.CONTENT_ENCODING);
      if (coding != null && decoder == null && decodable(coding)) {
        decoder = new HttpContentDecompressor(0);
        ctx.pipeline().addAfter(ctx.name(), DECODER, decoder);
      }
    } else if (dropping && msg instanceof HttpContent) {
      dropping = !(msg instanceof LastHttpContent);
      ReferenceCountUtil.release(msg);
      return;
    }
    ctx.fireChannelRead(msg);
    if (decoder != null && msg instanceof LastHttpContent) {
      ctx.pipeline().remove(decoder);
      decoder = null;
    }
  }
}
