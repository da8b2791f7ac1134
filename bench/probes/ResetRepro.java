import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.transport.Transport;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Does an HTTP server notice every client that sends a request and resets the connection at once?
 * No Sluice code: the server is plain Vert.x, or plain Netty with Netty's own HTTP codec (to tell
 * Netty's part from Vert.x's). Per request it waits for the body's end, then answers a stream of 40
 * chunks 25 ms apart (as ClientDisconnectTest's streams do), and it counts requests for which
 * neither the end nor the connection's close ever came. Each round, 200 clients at once, a fifth of
 * them sending their request and resetting at once, the rest reading to the end. Run from the
 * project root after a build, for each server and transport:
 *
 * <pre>java -cp target/sluice.jar bench/probes/ResetRepro.java vertx io_uring
 * java -cp target/sluice.jar bench/probes/ResetRepro.java vertx epoll
 * java -cp target/sluice.jar bench/probes/ResetRepro.java netty io_uring   [rounds, default 3]</pre>
 *
 * <p>Vert.x on io_uring with Netty's default multishot POLLIN left 7 to 13 of 120 such requests open;
 * with one-shot polls, as {@code sluice} runs it, none of 240:
 *
 * <pre>java -Dio.netty.iouring.pollAddMultishotEnabled=false -cp target/sluice.jar bench/probes/ResetRepro.java vertx io_uring 6</pre>
 */
public class ResetRepro {
  /** Requests whose headers arrived, by client id, with the phase they are in, until they end or close. */
  static final Map<String, String> OPEN = new ConcurrentHashMap<>();
  static final int CHUNKS = 40;
  static final long CHUNK_EVERY_MS = 25;

  public static void main(String[] args) throws Exception {
    boolean netty = "netty".equals(args.length > 0 ? args[0] : "vertx");
    boolean uring = !"epoll".equals(args.length > 1 ? args[1] : "io_uring");
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    AutoCloseable[] stop = new AutoCloseable[1];
    int port = netty ? startNetty(uring, stop) : startVertx(uring, stop);
    System.out.println((netty ? "netty" : "vertx") + " on " + (uring ? "io_uring" : "epoll") + ", port " + port);
    AtomicInteger ids = new AtomicInteger();
    for (int round = 1; round <= rounds; round++) {
      ExecutorService pool = Executors.newFixedThreadPool(200);
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        boolean reset = i % 5 == 0;
        String id = "c" + ids.incrementAndGet();
        done.add(pool.submit(() -> {
          client(port, id, reset);
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
      pool.shutdown();
      Thread.sleep(5_000);
      System.out.printf("round %d: 40 of this round's 200 clients reset at once; still open 5 s after the last"
          + " client finished: %d %s%n", round, OPEN.size(), OPEN);
    }
    stop[0].close();
  }

  /** One client: sends a request in two writes, then resets at once or reads the stream to its end. */
  static void client(int port, String id, boolean reset) throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(20_000);
      byte[] body = "{\"model\":\"demo\",\"stream\":true}".getBytes(StandardCharsets.UTF_8);
      OutputStream out = s.getOutputStream();
      out.write(("POST /x HTTP/1.1\r\nHost: x\r\nx-id: " + id + "\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      out.write(body);
      out.flush();
      if (reset) {
        s.setSoLinger(true, 0);
        return;
      }
      InputStream in = s.getInputStream();
      byte[] buf = new byte[4096];
      StringBuilder seen = new StringBuilder();
      while (!seen.toString().contains("[DONE]")) {
        int n = in.read(buf);
        if (n < 0) {
          break;
        }
        seen.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
      }
    }
  }

  static int startVertx(boolean uring, AutoCloseable[] stop) {
    Vertx vertx = Vertx.builder().with(new VertxOptions().setEventLoopPoolSize(1))
        .withTransport(uring ? Transport.IO_URING : Transport.EPOLL).build();
    HttpServer server = vertx.createHttpServer().requestHandler(req -> {
      String id = req.getHeader("x-id");
      OPEN.put(id, "body");
      req.handler(b -> { });
      req.exceptionHandler(t -> OPEN.remove(id));
      req.response().closeHandler(v -> OPEN.remove(id));
      req.endHandler(v -> {
        OPEN.put(id, "answer");
        req.response().setChunked(true).putHeader("content-type", "text/event-stream");
        AtomicInteger left = new AtomicInteger(CHUNKS);
        vertx.setPeriodic(CHUNK_EVERY_MS, t -> {
          if (req.response().closed() || left.decrementAndGet() < 0) {
            vertx.cancelTimer(t);
            if (!req.response().closed()) {
              req.response().end("data: [DONE]\n\n");
            }
            OPEN.remove(id);
            return;
          }
          req.response().write("data: {}\n\n");
        });
      });
    }).listen(0, "127.0.0.1").await();
    stop[0] = () -> vertx.close().await(10, TimeUnit.SECONDS);
    return server.actualPort();
  }

  static int startNetty(boolean uring, AutoCloseable[] stop) throws InterruptedException {
    IoHandlerFactory factory = uring ? IoUringIoHandler.newFactory() : EpollIoHandler.newFactory();
    Class<? extends ServerChannel> type = uring ? IoUringServerSocketChannel.class : EpollServerSocketChannel.class;
    EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, factory);
    EventLoopGroup worker = new MultiThreadIoEventLoopGroup(1, factory);
    Channel server = new ServerBootstrap().group(boss, worker).channel(type)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpServerCodec(), new NettyHandler());
          }
        }).bind("127.0.0.1", 0).sync().channel();
    stop[0] = () -> {
      server.close().sync();
      boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      worker.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    };
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** The Netty server's side of one connection: the same answer as the Vert.x server's. */
  static final class NettyHandler extends ChannelInboundHandlerAdapter {
    String id;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest req) {
        id = req.headers().get("x-id");
        OPEN.put(id, "body");
      }
      if (msg instanceof LastHttpContent) {
        OPEN.put(id, "answer");
        DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        ctx.writeAndFlush(head);
        AtomicInteger left = new AtomicInteger(CHUNKS);
        ctx.executor().scheduleAtFixedRate(() -> {
          if (!ctx.channel().isActive()) {
            throw new IllegalStateException("closed"); // ends the periodic task
          }
          if (left.decrementAndGet() < 0) {
            ctx.write(new DefaultHttpContent(Unpooled.copiedBuffer("data: [DONE]\n\n", StandardCharsets.US_ASCII)));
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            OPEN.remove(id);
            throw new IllegalStateException("done"); // ends the periodic task
          }
          ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer("data: {}\n\n", StandardCharsets.US_ASCII)));
        }, CHUNK_EVERY_MS, CHUNK_EVERY_MS, TimeUnit.MILLISECONDS);
      }
      ReferenceCountUtil.release(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (id != null) {
        OPEN.remove(id);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
