package dev.sluice.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.function.Consumer;

/** The listening half of the raw test upstreams: a loopback socket, each connection on a daemon thread of its own. */
final class LoopbackServer {
  private LoopbackServer() {}

  /** Listens on an ephemeral loopback port and serves every connection until the socket is closed. */
  static ServerSocket start(String name, Consumer<Socket> serve) {
    ServerSocket server;
    try {
      server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread acceptor = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          Thread t = new Thread(() -> serve.accept(s), name + "-conn");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return; // closed
        }
      }
    }, name + "-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    return server;
  }
}
