package dev.sluice.testkit;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real {@code redis-server} (Debian package redis-server; ./test.sh installs it) on a free loopback port, without
 * persistence, in a temp directory. It can be stopped, killed, frozen (SIGSTOP: a Redis that accepts connections but
 * never answers) and started again on the same port. {@link #close} always kills it and removes the directory; a JVM
 * shutdown hook does the same if a test run dies.
 */
public final class RedisServer implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(20);

  private final int port;
  private final Path dir;
  private final Thread shutdownHook;
  private volatile Process process;

  private RedisServer(int port, Path dir) {
    this.port = port;
    this.dir = dir;
    this.shutdownHook = new Thread(this::destroy, "redis-server-" + port + "-cleanup");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts a redis-server on a free port and waits until it answers PING. */
  public static RedisServer start() {
    Path dir;
    try {
      dir = Files.createTempDirectory("sluice-redis-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    RedisServer redis = new RedisServer(freePort(), dir);
    try {
      redis.launch();
    } catch (RuntimeException | Error e) {
      redis.close();
      throw e;
    }
    return redis;
  }

  public int port() {
    return port;
  }

  /** {@code redis://127.0.0.1:<port>}, for {@code shared.redis}. */
  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  /** Whether the process is alive. */
  public boolean running() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** SIGKILL, as a crash: no goodbye to clients. */
  public void kill() {
    Process p = process;
    if (p == null) return;
    p.destroyForcibly();
    waitFor(p);
    process = null;
  }

  /** SIGTERM, a clean shutdown. */
  public void stop() {
    Process p = process;
    if (p == null) return;
    p.destroy();
    waitFor(p);
    process = null;
  }

  /** Starts it again on the same port (after {@link #kill} or {@link #stop}); its data is gone. */
  public void restart() {
    if (running()) throw new IllegalStateException("redis-server on port " + port + " is still running");
    launch();
  }

  /** SIGSTOP: connections are accepted by the kernel but nothing answers, like a Redis that hangs. */
  public void freeze() {
    signal("STOP");
  }

  /** SIGCONT after {@link #freeze}. */
  public void thaw() {
    signal("CONT");
  }

  /**
   * Runs one command on a fresh connection and returns the reply as text: a simple string, an integer, a bulk string
   * (null for nil) or, for arrays, the elements joined by newlines. Error replies throw.
   */
  public String command(String... args) {
    Object reply = call(args);
    return reply instanceof List<?> items ? String.join("\n", items.stream().map(String::valueOf).toList())
        : (String) reply;
  }

  /** Keys matching {@code pattern} (KEYS: fine for a test's small data set). */
  public List<String> keys(String pattern) {
    return ((List<?>) call("KEYS", pattern)).stream().map(String::valueOf).toList();
  }

  private Object call(String... args) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
      s.setSoTimeout(5_000);
      OutputStream out = s.getOutputStream();
      StringBuilder req = new StringBuilder("*").append(args.length).append("\r\n");
      for (String a : args) {
        byte[] b = a.getBytes(StandardCharsets.UTF_8);
        req.append('$').append(b.length).append("\r\n").append(a).append("\r\n");
      }
      out.write(req.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
      return reply(new BufferedInputStream(s.getInputStream()));
    } catch (IOException e) {
      throw new UncheckedIOException("redis-server on port " + port + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    destroy();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // the JVM is shutting down: the hook runs anyway
    }
  }

  private void destroy() {
    Process p = process;
    if (p != null) {
      signal("CONT"); // a frozen process ignores SIGTERM until it runs again; SIGKILL works regardless
      p.destroyForcibly();
      waitFor(p);
      process = null;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // best effort: a temp directory
    }
  }

  private void launch() {
    List<String> cmd = new ArrayList<>(List.of("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--protected-mode", "yes",
        "--logfile", dir.resolve("redis.log").toString()));
    try {
      process = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(dir.resolve("stdout.log").toFile()).start();
    } catch (IOException e) {
      throw new AssertionError("redis-server is missing: install the Debian package redis-server (./test.sh does)", e);
    }
    Process started = process;
    try {
      org.awaitility.Awaitility.await("redis-server on port " + port + " answers PING").atMost(START_TIMEOUT)
          .pollInterval(Duration.ofMillis(20)).ignoreException(UncheckedIOException.class)
          .failFast(() -> !started.isAlive())
          .until(() -> "PONG".equals(command("PING")));
    } catch (org.awaitility.core.ConditionTimeoutException | org.awaitility.core.TerminalFailureException e) {
      throw new IllegalStateException("redis-server on port " + port + " did not start: " + log(), e);
    }
  }

  private String log() {
    try {
      return Files.readString(dir.resolve("redis.log")).strip();
    } catch (IOException e) {
      return "(no log)";
    }
  }

  private void signal(String name) {
    Process p = process;
    if (p == null || !p.isAlive()) return;
    try {
      Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(p.pid())).start();
      kill.waitFor(10, TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void waitFor(Process p) {
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Object reply(InputStream in) throws IOException {
    String line = readLine(in);
    char type = line.charAt(0);
    String rest = line.substring(1);
    switch (type) {
      case '+', ':' -> {
        return rest;
      }
      case '-' -> throw new IllegalStateException("redis: " + rest);
      case '$' -> {
        int len = Integer.parseInt(rest);
        if (len < 0) return null;
        byte[] b = in.readNBytes(len + 2);
        return new String(b, 0, len, StandardCharsets.UTF_8);
      }
      case '*' -> {
        int n = Integer.parseInt(rest);
        List<Object> items = new ArrayList<>();
        for (int i = 0; i < n; i++) items.add(reply(in));
        return items;
      }
      default -> throw new IllegalStateException("redis: unexpected reply " + line);
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\r') {
        in.read(); // '\n'
        return sb.toString();
      }
      sb.append((char) c);
    }
    throw new IOException("connection closed before a full reply");
  }
}
