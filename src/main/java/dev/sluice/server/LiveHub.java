package dev.sluice.server;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The dashboard's live connections: a WebSocket per open page, fed one snapshot a second, alert
 * changes as they happen, and keep-alive pings (a WebSocket ping frame, and a {@code ping}
 * message the page can see). A client too slow to take a message misses it rather than queueing.
 * A missed snapshot is made up by the next one; a missed alert change is repeated by nothing, so a
 * page that missed one is sent the whole list of alerts as soon as it takes messages again.
 */
final class LiveHub {
  /** A page's socket, and whether an alert change was held back from it. */
  private static final class Peer {
    final ServerWebSocket ws;
    volatile boolean missedAlerts;

    Peer(ServerWebSocket ws) {
      this.ws = ws;
    }
  }

  private final CopyOnWriteArrayList<Peer> peers = new CopyOnWriteArrayList<>();
  private final Supplier<JsonObject> hello;
  private final Supplier<JsonObject> alertList;
  private final Consumer<Runnable> alertOrder;

  /**
   * @param alertList the alerts as they are now, as an {@code alerts} message
   * @param alertOrder runs its argument while no alert can change (changes reach {@link #alertChanged}
   *     under the same lock), so a list read and sent there is in order with the changes on the wire
   */
  LiveHub(Supplier<JsonObject> hello, Supplier<JsonObject> alertList, Consumer<Runnable> alertOrder) {
    this.hello = hello;
    this.alertList = alertList;
    this.alertOrder = alertOrder;
  }

  void add(ServerWebSocket ws) {
    Peer p = new Peer(ws);
    ws.closeHandler(v -> peers.remove(p));
    ws.exceptionHandler(t -> peers.remove(p));
    ws.textMessageHandler(m -> { }); // the page's own pings need no answer
    // the hello's alerts and the changes after them, with none lost or sent ahead of it in between
    alertOrder.accept(() -> {
      ws.writeTextMessage(hello.get().encode());
      peers.add(p);
    });
  }

  int connections() {
    return peers.size();
  }

  /** A snapshot: to every page that can take it, after the alerts it missed. */
  void broadcast(JsonObject message) {
    if (peers.isEmpty()) {
      return;
    }
    String text = message.encode();
    for (Peer p : peers) {
      if (p.ws.isClosed()) {
        peers.remove(p);
      } else if (writable(p.ws)) {
        if (p.missedAlerts) {
          alertOrder.accept(() -> sendAlerts(p));
        }
        p.ws.writeTextMessage(text);
      }
    }
  }

  /** An alert changed; called while alerts cannot change (see {@code alertOrder}). */
  void alertChanged(JsonObject message) {
    String text = null;
    for (Peer p : peers) {
      if (p.ws.isClosed()) {
        peers.remove(p);
      } else if (!writable(p.ws)) {
        p.missedAlerts = true;
      } else if (p.missedAlerts) {
        sendAlerts(p); // the list has this change in it
      } else {
        text = text == null ? message.encode() : text;
        p.ws.writeTextMessage(text);
      }
    }
  }

  private void sendAlerts(Peer p) {
    if (p.missedAlerts) {
      p.missedAlerts = false;
      p.ws.writeTextMessage(alertList.get().encode());
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
    for (Peer p : peers) {
      if (!p.ws.isClosed() && writable(p.ws)) { // a client that stopped reading gets no queue of pings either
        p.ws.writePing(Buffer.buffer("k"));
        p.ws.writeTextMessage(text);
      }
    }
  }

  void closeAll() {
    for (Peer p : peers) {
      p.ws.close();
    }
    peers.clear();
  }
}
