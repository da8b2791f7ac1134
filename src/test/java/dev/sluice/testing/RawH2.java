package dev.sluice.testing;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * An HTTP/2 client (prior knowledge, clear text) on a plain socket, written frame by frame, so that
 * a test can do what a well-behaved client library would not: open more streams than the server
 * allows, send trailers, misuse pseudo-headers, stop granting window to one stream, reset a stream
 * or go away at the moment it chooses. Response headers are decoded with Netty's HPACK decoder;
 * request headers are sent as HPACK literals without indexing.
 */
public final class RawH2 implements AutoCloseable {
  public static final int DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7,
      WINDOW_UPDATE = 8, CONTINUATION = 9;

  /** What one stream received. */
  public static final class Stream {
    public final int id;
    public volatile Http2Headers headers;
    public volatile Http2Headers trailers;
    public final ByteArrayOutputStream data = new ByteArrayOutputStream();
    public volatile boolean ended;
    public volatile long rstCode = -1;

    Stream(int id) {
      this.id = id;
    }

    public synchronized String text() {
      return data.toString(StandardCharsets.UTF_8);
    }

    public String status() {
      Http2Headers h = headers;
      return h == null || h.status() == null ? null : h.status().toString();
    }

    public String header(String name) {
      Http2Headers h = headers;
      CharSequence v = h == null ? null : h.get(name);
      return v == null ? null : v.toString();
    }

    public boolean closed() {
      return ended || rstCode >= 0;
    }

    @Override
    public String toString() {
      return "stream " + id + " status=" + status() + " ended=" + ended + " rst=" + rstCode + " data=" + text();
    }
  }

  private final Socket socket;
  private final OutputStream out;
  private final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
  /** Streams whose DATA this client leaves unacknowledged: their window is never given back. */
  public final Set<Integer> notReading = ConcurrentHashMap.newKeySet();
  private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false);
  public volatile long goAwayCode = -1;
  public volatile boolean eof;
  public volatile long serverMaxConcurrentStreams = -1;
  /**
   * Run on the reader as a GOAWAY arrives, before any later frame is read (or a PING answered): what
   * it sends is what a client had already sent when the GOAWAY reached it.
   */
  public volatile java.util.function.Consumer<RawH2> onGoAway;
  private final Thread reader;

  private RawH2(Socket socket) throws IOException {
    this.socket = socket;
    this.out = socket.getOutputStream();
    this.reader = new Thread(this::readLoop, "raw-h2-reader");
    reader.setDaemon(true);
  }

  /** Connects with the preface and a SETTINGS frame of the given (id, value) pairs. */
  public static RawH2 connect(int port, int... settings) throws IOException {
    Socket s = new Socket();
    s.setTcpNoDelay(true);
    s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    RawH2 c = new RawH2(s);
    c.out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    byte[] p = new byte[settings.length / 2 * 6];
    for (int i = 0; i < settings.length / 2; i++) {
      int id = settings[2 * i], v = settings[2 * i + 1];
      p[6 * i] = (byte) (id >> 8);
      p[6 * i + 1] = (byte) id;
      p[6 * i + 2] = (byte) (v >> 24);
      p[6 * i + 3] = (byte) (v >> 16);
      p[6 * i + 4] = (byte) (v >> 8);
      p[6 * i + 5] = (byte) v;
    }
    c.frame(SETTINGS, 0, 0, p);
    c.reader.start();
    return c;
  }

  public Stream stream(int id) {
    return streams.computeIfAbsent(id, Stream::new);
  }

  public synchronized void frame(int type, int flags, int streamId, byte[] payload) throws IOException {
    int n = payload.length;
    byte[] h = {(byte) (n >> 16), (byte) (n >> 8), (byte) n, (byte) type, (byte) flags,
        (byte) (streamId >> 24), (byte) (streamId >> 16), (byte) (streamId >> 8), (byte) streamId};
    out.write(h);
    out.write(payload);
    out.flush();
  }

  /** A header block of literals without indexing (names as given: lower case is the caller's business). */
  public static byte[] block(String... nameValues) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int i = 0; i < nameValues.length; i += 2) {
      b.write(0);
      literal(b, nameValues[i]);
      literal(b, nameValues[i + 1]);
    }
    return b.toByteArray();
  }

  private static void literal(ByteArrayOutputStream b, String s) {
    byte[] v = s.getBytes(StandardCharsets.ISO_8859_1);
    int len = v.length;
    if (len < 127) {
      b.write(len);
    } else {
      b.write(127);
      len -= 127;
      while (len >= 128) {
        b.write((len & 0x7f) | 0x80);
        len >>>= 7;
      }
      b.write(len);
    }
    b.write(v, 0, v.length);
  }

  /** HEADERS for a POST of JSON to {@code path}, with extra (name, value) pairs. */
  public void post(int id, String path, boolean endStream, String... extra) throws IOException {
    List<String> all = new ArrayList<>(List.of(":method", "POST", ":scheme", "http", ":authority", "127.0.0.1",
        ":path", path, "content-type", "application/json"));
    all.addAll(List.of(extra));
    headers(id, endStream, all.toArray(String[]::new));
  }

  public void headers(int id, boolean endStream, String... nameValues) throws IOException {
    stream(id);
    byte[] b = block(nameValues);
    if (b.length <= 16384) {
      frame(HEADERS, 0x4 | (endStream ? 0x1 : 0), id, b);
      return;
    }
    synchronized (this) { // a header block is one unit on the wire: nothing may come between its frames
      for (int from = 0; from < b.length; from += 16384) {
        byte[] part = java.util.Arrays.copyOfRange(b, from, Math.min(b.length, from + 16384));
        boolean last = from + 16384 >= b.length;
        frame(from == 0 ? HEADERS : CONTINUATION, (last ? 0x4 : 0) | (from == 0 && endStream ? 0x1 : 0), id, part);
      }
    }
  }

  public void data(int id, byte[] bytes, boolean endStream) throws IOException {
    frame(DATA, endStream ? 0x1 : 0, id, bytes);
  }

  public void data(int id, String text, boolean endStream) throws IOException {
    data(id, text.getBytes(StandardCharsets.UTF_8), endStream);
  }

  /** A whole request: HEADERS, then the body as one DATA frame with END_STREAM. */
  public Stream chat(int id, String body, String... extra) throws IOException {
    post(id, "/v1/chat/completions", false, extra);
    data(id, body, true);
    return stream(id);
  }

  public void rst(int id, int code) throws IOException {
    frame(RST_STREAM, 0, id, int32(code));
  }

  public void goAway(int lastStreamId, int code) throws IOException {
    byte[] p = new byte[8];
    System.arraycopy(int32(lastStreamId), 0, p, 0, 4);
    System.arraycopy(int32(code), 0, p, 4, 4);
    frame(GOAWAY, 0, 0, p);
  }

  public void windowUpdate(int id, int increment) throws IOException {
    frame(WINDOW_UPDATE, 0, id, int32(increment));
  }

  private static byte[] int32(int v) {
    return new byte[] {(byte) (v >> 24), (byte) (v >> 16), (byte) (v >> 8), (byte) v};
  }

  private void readLoop() {
    try {
      DataInputStream in = new DataInputStream(socket.getInputStream());
      ByteArrayOutputStream pendingBlock = null;
      int pendingStream = 0;
      boolean pendingEnd = false;
      while (true) {
        int len = (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
        int type = in.readUnsignedByte();
        int flags = in.readUnsignedByte();
        int id = in.readInt() & 0x7fffffff;
        byte[] p = new byte[len];
        in.readFully(p);
        switch (type) {
          case DATA -> {
            int pad = (flags & 0x8) != 0 ? (p[0] & 0xff) + 1 : 0;
            Stream s = stream(id);
            synchronized (s) {
              s.data.write(p, pad == 0 ? 0 : 1, len - pad);
            }
            if (len > 0) {
              try {
                windowUpdate(0, len);
                if (!notReading.contains(id) && (flags & 0x1) == 0) {
                  windowUpdate(id, len);
                }
              } catch (IOException closed) {
                // the server may close once its last stream has ended: what it sent before is still read
              }
            }
            if ((flags & 0x1) != 0) {
              s.ended = true;
            }
          }
          case HEADERS, CONTINUATION -> {
            int from = 0, to = len;
            if (type == HEADERS) {
              if ((flags & 0x8) != 0) {
                to -= p[0] & 0xff;
                from = 1;
              }
              if ((flags & 0x20) != 0) {
                from += 5;
              }
              pendingBlock = new ByteArrayOutputStream();
              pendingStream = id;
              pendingEnd = (flags & 0x1) != 0;
            }
            pendingBlock.write(p, from, to - from);
            if ((flags & 0x4) != 0) {
              Http2Headers h = decoder.decodeHeaders(pendingStream, Unpooled.wrappedBuffer(pendingBlock.toByteArray()));
              Stream s = stream(pendingStream);
              if (s.headers == null || (s.headers.status() != null && s.headers.status().charAt(0) == '1')) {
                s.headers = h;
              } else {
                s.trailers = h;
              }
              if (pendingEnd) {
                s.ended = true;
              }
              pendingBlock = null;
            }
          }
          case RST_STREAM -> stream(id).rstCode = ((p[0] & 0xffL) << 24) | ((p[1] & 0xff) << 16) | ((p[2] & 0xff) << 8)
              | (p[3] & 0xff);
          case SETTINGS -> {
            if ((flags & 0x1) == 0) {
              for (int i = 0; i + 6 <= len; i += 6) {
                int sid = ((p[i] & 0xff) << 8) | (p[i + 1] & 0xff);
                long v = ((p[i + 2] & 0xffL) << 24) | ((p[i + 3] & 0xff) << 16) | ((p[i + 4] & 0xff) << 8) | (p[i + 5] & 0xff);
                if (sid == 3) {
                  serverMaxConcurrentStreams = v;
                }
              }
              frame(SETTINGS, 0x1, 0, new byte[0]);
            }
          }
          case PING -> {
            if ((flags & 0x1) == 0) {
              frame(PING, 0x1, 0, p);
            }
          }
          case GOAWAY -> {
            goAwayCode = ((p[4] & 0xffL) << 24) | ((p[5] & 0xff) << 16) | ((p[6] & 0xff) << 8) | (p[7] & 0xff);
            var hook = onGoAway;
            onGoAway = null;
            if (hook != null) {
              hook.accept(this);
            }
          }
          default -> { }
        }
      }
    } catch (Exception e) {
      eof = true;
    }
  }

  /** Waits (generously) until the condition holds; fails with the state of every stream if it never does. */
  public void await(BooleanSupplier condition) {
    long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > until) {
        throw new AssertionError("timed out; streams: " + streams.values() + " goaway=" + goAwayCode + " eof=" + eof);
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }

  /** Closes with a TCP RST instead of a FIN. */
  public void abort() throws IOException {
    socket.setSoLinger(true, 0);
    socket.close();
  }
}
