package dev.sluice.bench;

/**
 * Follows one SSE response as its bytes arrive: notes when the first generated text came, hands
 * on each stamped chunk's delay (arrival minus the simulator's {@code x_sim_ns}), and tells at the
 * end whether the stream finished cleanly with {@code data: [DONE]} and no error event.
 */
public final class StreamReader {
  /** What a stream tells its observer while it runs. */
  public interface Listener {
    void firstText(long arrivalNanos);

    void chunkDelay(long nanos);
  }

  private final Listener listener;
  private final SseScanner scanner;
  private long arrivalNanos;
  private boolean sawText;
  private boolean done;
  private boolean error;
  private long events;

  public StreamReader(Listener listener) {
    this.listener = listener;
    this.scanner = new SseScanner(this::event);
  }

  /** Feeds bytes that arrived at {@code arrivalNanos} ({@link System#nanoTime()}). */
  public void feed(byte[] bytes, long arrivalNanos) {
    this.arrivalNanos = arrivalNanos;
    scanner.feed(bytes);
  }

  private void event(String data) {
    events++;
    if (done) {
      return; // nothing after [DONE] counts
    }
    if (ChunkFields.isDone(data)) {
      done = true;
      return;
    }
    if (ChunkFields.isError(data)) {
      error = true;
      return;
    }
    if (!sawText && ChunkFields.hasText(data)) {
      sawText = true;
      listener.firstText(arrivalNanos);
    }
    long stamp = ChunkFields.simNanos(data);
    if (stamp != -1) {
      listener.chunkDelay(arrivalNanos - stamp);
    }
  }

  /** Ended with {@code [DONE]} and carried no error event. */
  public boolean cleanEnd() {
    return done && !error;
  }

  public boolean sawError() {
    return error;
  }

  public boolean sawDone() {
    return done;
  }

  public long events() {
    return events;
  }
}
