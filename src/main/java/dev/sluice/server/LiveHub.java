package dev.sluice.server;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * The dashboard's live connections: a WebSocket per open page, fed one snapshot a second, alert
 * changes as they happen, and keep-alive pings (a WebSocket ping frame, and a {@code ping}
 * message the page can see). A client too slow to take a snapshot misses it rather than queueing.
 */
final class LiveHub {
  private final CopyOnWriteArrayList<ServerWebSocket> sockets = new CopyOnWriteArrayList<>();
  private final Supplier<JsonObject> hello;

  LiveHub(Supplier<JsonObject> hello) {
    this.hello = hello;
  }

  void add(ServerWebSocket ws) {
    sockets.add(ws);
    ws.closeHandler(v -> sockets.remove(ws));
    ws.exceptionHandler(t -> sockets.remove(ws));
    ws.textMessageHandler(m -> { }); // the page's own pings need no answer
    ws.writeTextMessage(hello.get().encode());
  }

  int connections() {
    return sockets.size();
  }

  void broadcast(JsonObject message) {
    if (sockets.isEmpty()) {
      return;
    }
    String text = message.encode();
    for (ServerWebSocket ws : sockets) {
      if (ws.isClosed()) {
        sockets.remove(ws);
      } else if (writable(ws)) {
        ws.writeTextMessage(text);
      }
    }
  }

  /** Room in the socket's write queue; false once it closed (writeQueueFull throws on a closed socket). */
  private static boolean writable(ServerWebSocket ws) {
    try {
      return !ws.writeQueueFull();
    } catch (IllegalStateException closed) {
      return false;
    }
  }

  void ping() {
    String text = new JsonObject().put("type", "ping").put("ts", System.currentTimeMillis()).encode();
    for (ServerWebSocket ws : sockets) {
      if (!ws.isClosed() && writable(ws)) { // a client that stopped reading gets no queue of pings either
        ws.writePing(Buffer.buffer("k"));
        ws.writeTextMessage(text);
      }
    }
  }

  void closeAll() {
    for (ServerWebSocket ws : sockets) {
      ws.close();
    }
    sockets.clear();
  }
}
