package dev.sluice.testkit;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * A cluster of real etcd members ({@code /usr/bin/etcd}, Debian's etcd-server) on free loopback ports with temporary
 * data directories. Members can be killed (SIGKILL) and restarted one by one; {@link #close} kills them all and deletes
 * the data, also when a test failed (and a JVM shutdown hook does it if the test JVM dies first).
 */
public final class EtcdCluster implements AutoCloseable {
  public static final Path ETCD = Path.of("/usr/bin/etcd");
  /** A fresh member elects a leader within about a second; loaded CI hosts take longer. */
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  private final Path root;
  private final String token = "sluice-test-" + UUID.randomUUID();
  private final List<Member> members = new ArrayList<>();
  private final Thread cleanup = new Thread(this::destroyAll, "etcd-cluster-cleanup");

  private static final class Member {
    final String name;
    final int clientPort;
    final int peerPort;
    final Path dataDir;
    final Path log;
    Process process;

    Member(String name, int clientPort, int peerPort, Path dataDir, Path log) {
      this.name = name;
      this.clientPort = clientPort;
      this.peerPort = peerPort;
      this.dataDir = dataDir;
      this.log = log;
    }
  }

  private EtcdCluster(int size) throws IOException {
    if (!Files.isExecutable(ETCD)) {
      throw new IllegalStateException(ETCD + " not found: install Debian's etcd-server (apt-get install etcd-server)");
    }
    root = Files.createTempDirectory("sluice-etcd-");
    int[] ports = freePorts(2 * size);
    for (int i = 0; i < size; i++) {
      members.add(new Member("m" + i, ports[2 * i], ports[2 * i + 1], root.resolve("m" + i + ".etcd"),
          root.resolve("m" + i + ".log")));
    }
    Runtime.getRuntime().addShutdownHook(cleanup);
  }

  /** Starts {@code size} members and waits until every one is healthy (the cluster has a leader). */
  public static EtcdCluster start(int size) {
    EtcdCluster c;
    try {
      c = new EtcdCluster(size);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    try {
      for (int i = 0; i < size; i++) c.launch(i);
      for (int i = 0; i < size; i++) c.awaitHealthy(i);
      return c;
    } catch (RuntimeException | Error e) {
      c.close();
      throw e;
    }
  }

  private void launch(int i) {
    Member m = members.get(i);
    String initialCluster = members.stream().map(x -> x.name + "=http://127.0.0.1:" + x.peerPort)
        .collect(Collectors.joining(","));
    List<String> cmd = List.of(ETCD.toString(), "--name", m.name, "--data-dir", m.dataDir.toString(),
        "--listen-client-urls", "http://127.0.0.1:" + m.clientPort,
        "--advertise-client-urls", "http://127.0.0.1:" + m.clientPort,
        "--listen-peer-urls", "http://127.0.0.1:" + m.peerPort,
        "--initial-advertise-peer-urls", "http://127.0.0.1:" + m.peerPort,
        "--initial-cluster", initialCluster, "--initial-cluster-state", "new", "--initial-cluster-token", token);
    try {
      m.process = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(m.log.toFile())).start();
    } catch (IOException e) {
      throw new IllegalStateException("cannot start " + ETCD + ": " + e.getMessage(), e);
    }
  }

  /** Waits until member {@code i} reports healthy (it is up and its cluster has a leader). */
  public void awaitHealthy(int i) {
    Member m = members.get(i);
    try {
      await().atMost(READY_TIMEOUT).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
          .until(() -> m.process.isAlive() && healthy(i));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new IllegalStateException("etcd member " + m.name + " not healthy within " + READY_TIMEOUT + "; its log:\n"
          + tail(m.log), e);
    }
  }

  /** Whether member {@code i} answers /health with true. */
  public boolean healthy(int i) {
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(clientUri(i).resolve("/health"))
          .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 && r.body().contains("\"true\"");
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Kills member {@code i} with SIGKILL (no clean shutdown) and waits until it is gone. */
  public void kill(int i) {
    Process p = members.get(i).process;
    if (p == null) return;
    p.destroyForcibly();
    try {
      p.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Starts killed member {@code i} again on its ports and data; it rejoins the cluster (wait with awaitHealthy). */
  public void restart(int i) {
    if (members.get(i).process != null && members.get(i).process.isAlive()) {
      throw new IllegalStateException("member " + i + " is running");
    }
    launch(i);
  }

  public int size() {
    return members.size();
  }

  public URI clientUri(int i) {
    return URI.create("http://127.0.0.1:" + members.get(i).clientPort);
  }

  /** {@code etcd://…/prefix} listing the members in the order given (default: all, in order). */
  public String url(String prefix, int... order) {
    int[] idx = order.length == 0 ? IntStream.range(0, size()).toArray() : order;
    return "etcd://" + IntStream.of(idx).mapToObj(i -> "127.0.0.1:" + members.get(i).clientPort)
        .collect(Collectors.joining(",")) + prefix;
  }

  /** Puts {@code value} at {@code key} as is (no validation: for tests of what replicas do with bad values). */
  public long put(String key, String value) {
    String body = "{\"key\":\"" + b64(key) + "\",\"value\":\"" + b64(value) + "\"}";
    return revisionOf(call("/v3/kv/put", body));
  }

  /** The store's current revision. */
  public long revision() {
    return revisionOf(call("/v3/kv/range", "{\"key\":\"" + b64("\0") + "\",\"count_only\":true}"));
  }

  /** Compacts history up to {@code revision}: watches from older revisions are then cancelled. */
  public void compact(long revision) {
    call("/v3/kv/compaction", "{\"revision\":\"" + revision + "\",\"physical\":true}");
  }

  /** POSTs to the first running member that answers 200. */
  private String call(String path, String body) {
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < size(); i++) {
      try {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(clientUri(i).resolve(path))
            .timeout(Duration.ofSeconds(5)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) return r.body();
        failures.add(i + ": HTTP " + r.statusCode() + " " + r.body());
      } catch (IOException e) {
        failures.add(i + ": " + e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    throw new IllegalStateException("no etcd member answered " + path + ": " + failures);
  }

  private static long revisionOf(String json) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"revision\":\"(\\d+)\"").matcher(json);
    if (!m.find()) throw new IllegalStateException("no revision in " + json);
    return Long.parseLong(m.group(1));
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** Free loopback ports, all held open together so no two are the same. */
  private static int[] freePorts(int n) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      int[] ports = new int[n];
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
        s.setReuseAddress(true);
        sockets.add(s);
        ports[i] = s.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket s : sockets) s.close();
    }
  }

  private void destroyAll() {
    for (Member m : members) {
      if (m.process != null) m.process.destroyForcibly();
    }
    for (Member m : members) {
      if (m.process == null) continue;
      try {
        m.process.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try (Stream<Path> files = Files.walk(root)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort: the directory is under the temp dir
    }
  }

  /** Kills every member and deletes the data. */
  @Override
  public void close() {
    destroyAll();
    try {
      Runtime.getRuntime().removeShutdownHook(cleanup);
    } catch (IllegalStateException e) {
      // the JVM is shutting down and runs the hook itself
    }
  }
}
