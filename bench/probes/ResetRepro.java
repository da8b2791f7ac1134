import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.transport.Transport;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Does a Vert.x HTTP server notice every client that sends a request and resets the connection at
 * once? Plain Vert.x, no Sluice code: per request the server waits for the body's end, then answers
 * a stream of 40 chunks 25 ms apart (as ClientDisconnectTest's streams do); it counts requests for
 * which none of end, exception or close ever fired. 200 clients at once, a fifth of them sending
 * their request and resetting at once, the rest reading to the end. Run from the project root after
 * a build, on each transport:
 *
 * <pre>java -cp target/sluice.jar bench/probes/ResetRepro.java io_uring
 * java -cp target/sluice.jar bench/probes/ResetRepro.java epoll</pre>
 */
public class ResetRepro {
  public static void main(String[] args) throws Exception {
    Transport transport = "epoll".equals(args.length > 0 ? args[0] : "io_uring") ? Transport.EPOLL : Transport.IO_URING;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Vertx vertx = Vertx.builder().with(new VertxOptions().setEventLoopPoolSize(1)).withTransport(transport).build();
    Map<String, String> open = new ConcurrentHashMap<>();
    AtomicInteger begun = new AtomicInteger();
    HttpServer server = vertx.createHttpServer().requestHandler((HttpServerRequest req) -> {
      String id = req.getHeader("x-id");
      begun.incrementAndGet();
      open.put(id, "body");
      req.handler(b -> { });
      req.exceptionHandler(t -> open.remove(id));
      req.response().closeHandler(v -> open.remove(id));
      req.endHandler(v -> {
        open.put(id, "answer");
        req.response().setChunked(true).putHeader("content-type", "text/event-stream");
        AtomicInteger left = new AtomicInteger(40);
        vertx.setPeriodic(25, t -> {
          if (req.response().closed() || left.decrementAndGet() < 0) {
            vertx.cancelTimer(t);
            if (!req.response().closed()) {
              req.response().end("data: [DONE]\n\n");
            }
            open.remove(id);
            return;
          }
          req.response().write("data: {\"n\":" + left.get() + "}\n\n");
        });
      });
    }).listen(0, "127.0.0.1").await();
    System.out.println("transport " + transport.name() + ", port " + server.actualPort());
    AtomicInteger ids = new AtomicInteger();
    for (int round = 1; round <= rounds; round++) {
      ExecutorService pool = Executors.newFixedThreadPool(200);
      List<Future<?>> done = new java.util.ArrayList<>();
      int resets = 0;
      for (int i = 0; i < 200; i++) {
        boolean reset = i % 5 == 0;
        resets += reset ? 1 : 0;
        String id = "c" + ids.incrementAndGet();
        done.add(pool.submit(() -> {
          try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.actualPort())) {
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
      System.out.printf("round %d: %d requests begun so far, %d of this round's clients reset at once;"
          + " still open 5 s after the last client finished: %d %s%n", round, begun.get(), resets, open.size(), open);
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }
}
