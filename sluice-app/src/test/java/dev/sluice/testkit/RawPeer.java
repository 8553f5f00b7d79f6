package dev.sluice.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * A raw TCP connection the test drives byte by byte without blocking, so one thread can hold hundreds (slowloris,
 * stalled uploads) and ask each whether the server has closed it.
 */
public final class RawPeer implements AutoCloseable {
  private final SocketChannel channel;
  private final ByteArrayOutputStream received = new ByteArrayOutputStream();
  private final ByteBuffer buffer = ByteBuffer.allocate(16 * 1024);
  private boolean closed;

  public RawPeer(int port) throws IOException {
    channel = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
    channel.configureBlocking(false);
  }

  /** Sends {@code text} (ISO-8859-1); a connection the server closed is only marked closed. */
  public RawPeer send(String text) {
    return send(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  public RawPeer send(byte[] bytes) {
    if (closed) return this;
    ByteBuffer out = ByteBuffer.wrap(bytes);
    long giveUp = System.nanoTime() + 5_000_000_000L;
    try {
      while (out.hasRemaining()) {
        if (channel.write(out) == 0) {
          if (System.nanoTime() > giveUp) throw new IllegalStateException("the server reads nothing: cannot send");
          Thread.onSpinWait();
        }
      }
    } catch (IOException e) {
      closed = true;
    }
    return this;
  }

  /** Reads what has arrived; true once the server has closed (or reset) the connection. */
  public boolean closedByServer() {
    if (closed) return true;
    try {
      int n;
      while ((n = channel.read(buffer.clear())) > 0) received.write(buffer.array(), 0, n);
      if (n < 0) closed = true;
    } catch (IOException e) {
      closed = true;
    }
    return closed;
  }

  /** Everything received so far (ISO-8859-1). */
  public String received() {
    closedByServer();
    return received.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException e) {
      // already gone
    }
  }
}
