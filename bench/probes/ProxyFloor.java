import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.transport.Transport;
import java.util.ArrayDeque;

/**
 * How cheap can a JVM reverse proxy be on this stack? Two proxies with none of Sluice's logic (no
 * deadline, guards, routing, admission, metrics or headers of its own), each on one epoll event
 * loop, forwarding every request to one upstream and relaying its answer chunk by chunk:
 *
 * <ul>
 *   <li>{@code netty}: Netty's HTTP codecs only. Each client connection gets its own upstream
 *       connection on the same loop; the request is aggregated (as Sluice must, to read the model),
 *       the answer is relayed as it arrives and flushed when a read from the upstream ends.
 *   <li>{@code vertx}: Vert.x's HTTP server and pooled HTTP client, the layers Sluice is built on.
 *   <li>{@code vertx_strict}: the same with the server in Vert.x's strict thread mode (responses
 *       written straight to the channel, not through a queue for writes from other threads), as
 *       Sluice runs it.
 * </ul>
 *
 * <p>Measured beside nginx and Sluice at saturation (CPU per request), the three gaps tell where a
 * Sluice request's cost lies: Sluice's own logic (Sluice over {@code vertx}), Vert.x's layers
 * ({@code vertx} over {@code netty}) and the JVM and Netty floor ({@code netty} over nginx). Run from
 * the project root after a build, pinned to the proxy's core, with the simulator on its port:
 *
 * <pre>taskset -c 1 java -cp target/sluice.jar bench/probes/ProxyFloor.java netty 9132 9100
 * taskset -c 1 java -cp target/sluice.jar bench/probes/ProxyFloor.java vertx 9142 9100</pre>
 *
 * <p>{@code bench/probes/proxy-floor.sh} runs all of them side by side. A probe, not a product: no
 * timeouts, no error answers (a failed upstream closes the client's connection), HTTP/1.1 only.
 */
public class ProxyFloor {
  public static void main(String[] args) throws Exception {
    String kind = args.length > 0 ? args[0] : "netty";
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 9132;
    int upstream = args.length > 2 ? Integer.parseInt(args[2]) : 9100;
    switch (kind) {
      case "netty" -> netty(port, upstream);
      case "vertx" -> vertx(port, upstream, false);
      case "vertx_strict" -> vertx(port, upstream, true);
      default -> throw new IllegalArgumentException("netty, vertx or vertx_strict, not " + kind);
    }
    System.out.println(kind + " proxy on :" + port + " -> :" + upstream);
  }

  // --- plain Netty ---------------------------------------------------------------------------

  static void netty(int port, int upstream) throws InterruptedException {
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    Bootstrap client = new Bootstrap().group(loop).channel(EpollSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new HttpClientCodec(), new Relay());
          }
        });
    new ServerBootstrap().group(loop).channel(EpollServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 4096)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20),
                new Front(client, upstream));
          }
        })
        .bind("127.0.0.1", port).sync();
  }

  /** A client connection: forwards each whole request on its own upstream connection. */
  static final class Front extends ChannelInboundHandlerAdapter {
    private final Bootstrap client;
    private final int upstreamPort;
    private Channel up;
    private boolean connecting;
    private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>();

    Front(Bootstrap client, int upstreamPort) {
      this.client = client;
      this.upstreamPort = upstreamPort;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      FullHttpRequest req = (FullHttpRequest) msg;
      if (up != null && up.isActive()) {
        up.writeAndFlush(req);
        return;
      }
      waiting.add(req);
      if (!connecting) {
        connecting = true;
        client.connect("127.0.0.1", upstreamPort).addListener((ChannelFutureListener) f -> {
          connecting = false;
          if (!f.isSuccess()) {
            dropWaiting();
            ctx.close();
            return;
          }
          up = f.channel();
          up.pipeline().get(Relay.class).front = ctx.channel();
          up.closeFuture().addListener(c -> ctx.close());
          FullHttpRequest r;
          while ((r = waiting.poll()) != null) {
            up.write(r);
          }
          up.flush();
        });
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      dropWaiting();
      if (up != null) {
        up.close();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }

    private void dropWaiting() {
      waiting.forEach(ReferenceCountUtil::release);
      waiting.clear();
    }
  }

  /** An upstream connection: relays the answer to its client connection as it comes. */
  static final class Relay extends ChannelInboundHandlerAdapter {
    Channel front;
    private boolean pending;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (front == null || !(msg instanceof HttpObject)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      front.write(msg);
      pending = true;
      if (msg instanceof LastHttpContent) {
        front.flush();
        pending = false;
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (pending && front != null) {
        front.flush();
        pending = false;
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  // --- plain Vert.x --------------------------------------------------------------------------

  static void vertx(int port, int upstream, boolean strict) throws Exception {
    Vertx vertx = Vertx.builder().with(new VertxOptions().setEventLoopPoolSize(1).setPreferNativeTransport(true))
        .withTransport(Transport.EPOLL).build();
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setTcpNoDelay(true).setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(20_000));
    RequestOptions target = new RequestOptions().setHost("127.0.0.1").setPort(upstream);
    vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true).setAcceptBacklog(4096).setStrictThreadMode(strict))
        .requestHandler(req -> req.body().onSuccess(body -> {
          var out = req.response();
          client.request(new RequestOptions(target).setMethod(req.method()).setURI(req.uri())).onSuccess(up -> {
            String type = req.getHeader("content-type");
            if (type != null) {
              up.putHeader("content-type", type);
            }
            up.send(body).onSuccess(resp -> {
              out.setStatusCode(resp.statusCode());
              String ct = resp.getHeader("content-type");
              if (ct != null) {
                out.putHeader("content-type", ct);
              }
              String len = resp.getHeader("content-length");
              if (len != null) {
                out.putHeader("content-length", len);
              } else {
                out.setChunked(true);
              }
              resp.handler(out::write);
              resp.endHandler(v -> out.end());
            }).onFailure(e -> req.connection().close());
          }).onFailure(e -> req.connection().close());
        }))
        .listen(port, "127.0.0.1").toCompletionStage().toCompletableFuture().get();
  }
}
