package dev.sluice.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * A gateway replica as a real child process: {@code java -cp <this JVM's class path> dev.sluice.cli.Main serve
 * --config FILE --port PORT}, its stdout and stderr going to a file for diagnosis ({@link #output()}). The class path
 * is the test JVM's own, with surefire's manifest-only booter jar expanded, so the child runs the classes under test.
 * {@link #kill()} is SIGKILL (a machine dying); {@link #close()} is SIGTERM (a clean stop), then SIGKILL.
 */
public final class SluiceProcess implements AutoCloseable {
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();

  private final Process process;
  private final int port;
  private final Path output;

  private SluiceProcess(Process process, int port, Path output) {
    this.process = process;
    this.port = port;
    this.output = output;
  }

  /**
   * Starts {@code sluice serve --config config --port port} (port 0 is not allowed: nginx and restarts need to know it
   * in advance; see {@link #freePort()}), appending its output to {@code output}. Returns at once: wait with
   * {@link #awaitReady(Duration)}.
   */
  public static SluiceProcess serve(Path config, int port, Path output, String... extraArgs) {
    Objects.requireNonNull(config, "config");
    if (port <= 0) throw new IllegalArgumentException("port: " + port + " (give a fixed port, e.g. freePort())");
    List<String> command = sluiceCommand("serve", "--config", config.toString(),
        "--port", Integer.toString(port), "--host", "127.0.0.1", "--event-loops", "2");
    command.addAll(List.of(extraArgs));
    try {
      Files.createDirectories(output.toAbsolutePath().getParent());
      Process p = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile())).start();
      return new SluiceProcess(p, port, output);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + String.join(" ", command.subList(0, 5)) + " …", e);
    }
  }

  /** A port free right now on 127.0.0.1 (tiny race with other processes; the replica's start fails loudly if lost). */
  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int port() {
    return port;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** {@code http://127.0.0.1:<port><path>}. */
  public String url(String path) {
    return "http://127.0.0.1:" + port + path;
  }

  /** Waits until {@code GET /readyz} answers 200 (a node is in rotation); fails with the process output if it died. */
  public SluiceProcess awaitReady(Duration atMost) {
    org.awaitility.Awaitility.await("replica on port " + port + " ready (GET /readyz 200)").atMost(atMost)
        .pollInterval(Duration.ofMillis(100)).until(() -> {
          if (!process.isAlive()) {
            throw new IllegalStateException("replica on port " + port + " exited with " + process.exitValue()
                + "; its output:\n" + output());
          }
          return status("/readyz") == 200;
        });
    return this;
  }

  /** The status of {@code GET path} on this replica, or -1 when it does not answer. */
  public int status(String path) {
    try {
      return CLIENT.send(HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(5)).GET().build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** {@code GET path} on this replica (the admin plane is open under {@code auth.mode: none}). */
  public String get(String path) {
    return Http.get(url(path)).body();
  }

  /** SIGKILL, as when the machine dies: no shutdown hook, open connections reset by the kernel. */
  public void kill() {
    process.destroyForcibly();
    waitFor(process, 10);
  }

  /** What the process printed so far (stdout and stderr). */
  public String output() {
    return read(output);
  }

  /** A child process's output file so far, or why it cannot be read. */
  static String read(Path output) {
    try {
      return Files.exists(output) ? Files.readString(output, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "(cannot read " + output + ": " + e + ")";
    }
  }

  /** SIGTERM (Sluice's clean stop), SIGKILL after 10 s. */
  @Override
  public void close() {
    stop(process);
  }

  /** {@code sluice <args>} in a child JVM of this test run: a small heap, quick start, this JVM's class path. */
  static List<String> sluiceCommand(String... args) {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", classPath(), "dev.sluice.cli.Main"));
    command.addAll(List.of(args));
    return command;
  }

  /** Ends a child process: SIGTERM, then SIGKILL after 10 s. */
  static void stop(Process process) {
    if (!process.isAlive()) return;
    process.destroy();
    if (!waitFor(process, 10)) {
      process.destroyForcibly();
      waitFor(process, 10);
    }
  }

  private static boolean waitFor(Process process, int seconds) {
    try {
      return process.waitFor(seconds, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * This JVM's class path, with every jar whose manifest has a {@code Class-Path} (surefire's booter jar) replaced by
   * the entries it lists, so the child sees target/test-classes, target/classes and every dependency.
   */
  public static String classPath() {
    Set<String> entries = new LinkedHashSet<>();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      if (entry.isBlank()) continue;
      List<String> listed = manifestClassPath(Path.of(entry));
      if (listed.isEmpty()) {
        entries.add(entry);
      } else {
        entries.addAll(listed);
      }
    }
    return String.join(java.io.File.pathSeparator, entries);
  }

  private static List<String> manifestClassPath(Path jar) {
    if (!jar.toString().endsWith(".jar") || !Files.isRegularFile(jar)) return List.of();
    try (JarFile file = new JarFile(jar.toFile())) {
      Manifest manifest = file.getManifest();
      String cp = manifest == null ? null : manifest.getMainAttributes().getValue("Class-Path");
      if (cp == null || cp.isBlank()) return List.of();
      List<String> out = new ArrayList<>();
      URI base = jar.toAbsolutePath().toUri();
      for (String item : cp.trim().split("\\s+")) {
        out.add(Path.of(base.resolve(new URI(item))).toString()); // items are URLs, relative to the jar or absolute
      }
      return out;
    } catch (IOException | URISyntaxException e) {
      throw new IllegalStateException("cannot read the class path in the manifest of " + jar, e);
    }
  }
}
