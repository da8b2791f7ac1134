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
 * {@link ResetRepro}'s question one layer down: the same clients against a plain Netty HTTP server
 * (Netty's own codec, no Vert.x, no Sluice). Counts requests whose headers arrived but which saw
 * neither their end nor the connection's close. Run from the project root after a build:
 *
 * <pre>java -cp target/sluice.jar bench/probes/NettyResetRepro.java io_uring
 * java -cp target/sluice.jar bench/probes/NettyResetRepro.java epoll</pre>
 */
public class NettyResetRepro {
  static final Map<String, String> OPEN = new ConcurrentHashMap<>();

  static final class Handler extends ChannelInboundHandlerAdapter {
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
        AtomicInteger left = new AtomicInteger(40);
        ctx.executor().scheduleAtFixedRate(new Runnable() {
          @Override
          public void run() {
            if (!ctx.channel().isActive()) {
              throw new IllegalStateException("stop"); // cancels the periodic task
            }
            if (left.decrementAndGet() < 0) {
              ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer("data: [DONE]\n\n", StandardCharsets.US_ASCII)));
              ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
              OPEN.remove(id);
              throw new IllegalStateException("done");
            }
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer("data: {}\n\n", StandardCharsets.US_ASCII)));
          }
        }, 25, 25, TimeUnit.MILLISECONDS);
      }
      io.netty.util.ReferenceCountUtil.release(msg);
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

  public static void main(String[] args) throws Exception {
    boolean uring = !"epoll".equals(args.length > 0 ? args[0] : "io_uring");
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    IoHandlerFactory factory = uring ? IoUringIoHandler.newFactory() : EpollIoHandler.newFactory();
    Class<? extends ServerChannel> type = uring ? IoUringServerSocketChannel.class : EpollServerSocketChannel.class;
    EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, factory);
    EventLoopGroup worker = new MultiThreadIoEventLoopGroup(1, factory);
    Channel server = new ServerBootstrap().group(boss, worker).channel(type)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpServerCodec(), new Handler());
          }
        }).bind("127.0.0.1", 0).sync().channel();
    int port = ((InetSocketAddress) server.localAddress()).getPort();
    System.out.println("netty " + (uring ? "io_uring" : "epoll") + ", port " + port);
    AtomicInteger ids = new AtomicInteger();
    for (int round = 1; round <= rounds; round++) {
      ExecutorService pool = Executors.newFixedThreadPool(200);
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        boolean reset = i % 5 == 0;
        String id = "c" + ids.incrementAndGet();
        done.add(pool.submit(() -> {
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
              return null;
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
    server.close().sync();
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    worker.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
