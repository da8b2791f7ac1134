package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the live view writes to a socket: nothing at all to one whose write queue is full (neither
 * snapshots nor pings: a client that stopped reading used to be sent every ping, without bound),
 * and nothing, without an exception, to one that closed between the checks (Vert.x's
 * writeQueueFull throws then, which used to escape into the tick and the alert listeners).
 */
class LiveHubTest {
  /** A socket that records what is written to it; its write queue full, closed, or neither. */
  private static ServerWebSocket socket(List<String> written, boolean full, boolean closedMidway) {
    return (ServerWebSocket) Proxy.newProxyInstance(ServerWebSocket.class.getClassLoader(),
        new Class<?>[] {ServerWebSocket.class}, (proxy, method, args) -> {
          switch (method.getName()) {
            case "isClosed":
              return false;
            case "writeQueueFull":
              if (closedMidway) {
                throw new IllegalStateException("WebSocket is closed");
              }
              return full;
            case "writeTextMessage", "writePing":
              written.add(method.getName());
              return null;
            default:
              return method.getReturnType().isInstance(proxy) ? proxy : null;
          }
        });
  }

  @Test
  void aFullOrClosedSocketGetsNothingAndTheOthersGetEverything() {
    LiveHub hub = new LiveHub(() -> new JsonObject().put("type", "hello"),
        () -> new JsonObject().put("type", "alerts"), Runnable::run);
    List<String> full = new ArrayList<>();
    List<String> closed = new ArrayList<>();
    List<String> open = new ArrayList<>();
    hub.add(socket(full, true, false));
    hub.add(socket(closed, false, true));
    hub.add(socket(open, false, false));
    full.clear();
    closed.clear();
    open.clear(); // the hello each got on joining
    for (int i = 0; i < 1000; i++) {
      hub.ping();
    }
    hub.broadcast(new JsonObject().put("type", "tick"));
    assertThat(full).isEmpty();
    assertThat(closed).isEmpty();
    assertThat(open).hasSize(2 * 1000 + 1);
  }
}
