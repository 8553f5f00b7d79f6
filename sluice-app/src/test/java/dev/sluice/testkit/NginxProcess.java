package dev.sluice.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Real nginx ({@code /usr/sbin/nginx}, Debian package nginx; ./test.sh installs it) as a child process on a config
 * made from the shipped {@code deploy/nginx/sluice.conf} with only addresses, ports and file paths replaced
 * ({@link Substitution}): {@code nginx -p DIR -c DIR/nginx.conf -e DIR/error.log -g 'daemon off;'}.
 */
public final class NginxProcess implements AutoCloseable {
  /** The shipped config, relative to the sluice-app module (the tests' working directory). */
  public static final Path SHIPPED_CONFIG = Path.of("..", "deploy", "nginx", "sluice.conf");

  private final Process process;
  private final Path dir;
  private final Path config;

  private NginxProcess(Process process, Path dir, Path config) {
    this.process = process;
    this.dir = dir;
    this.config = config;
  }

  /** The nginx binary: /usr/sbin/nginx, else nginx on the PATH. */
  public static String binary() {
    return Files.isExecutable(Path.of("/usr/sbin/nginx")) ? "/usr/sbin/nginx" : "nginx";
  }

  /** Whether nginx can be run here. */
  public static boolean available() {
    try {
      Process p = new ProcessBuilder(binary(), "-v").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Literal replacements applied to the shipped config, each of which must occur in it (so a renamed directive fails
   * the test instead of silently running the unmodified value).
   */
  public static final class Substitution {
    private final Map<String, String> replacements = new LinkedHashMap<>();

    /** Replaces every occurrence of {@code from} (which must occur) by {@code to}. */
    public Substitution replace(String from, String to) {
      replacements.put(Objects.requireNonNull(from, "from"), Objects.requireNonNull(to, "to"));
      return this;
    }

    /** The shipped text with every replacement applied. */
    public String apply(String shipped) {
      String text = shipped;
      for (Map.Entry<String, String> r : replacements.entrySet()) {
        if (!text.contains(r.getKey())) {
          throw new IllegalStateException("deploy/nginx/sluice.conf no longer contains \"" + r.getKey()
              + "\": update the substitution in the test to the new directive");
        }
        text = text.replace(r.getKey(), r.getValue());
      }
      return text;
    }
  }

  /**
   * The substitutions every test needs to run the shipped config unprivileged-ish in {@code dir}: pid file, logs and
   * temp directories inside {@code dir}, the two example replicas replaced by {@code replicaA}/{@code replicaB}
   * (host:port), the listeners by loopback ports, the certificate paths by {@code cert}/{@code key}.
   */
  public static Substitution forTest(Path dir, String replicaA, String replicaB, int httpPort, int httpsPort,
      Path cert, Path key) {
    String d = dir.toAbsolutePath().toString();
    return new Substitution()
        .replace("pid /run/nginx.pid;", "pid " + d + "/nginx.pid;")
        .replace("error_log /var/log/nginx/error.log warn;", "error_log " + d + "/error.log warn;")
        .replace("access_log /var/log/nginx/sluice-access.log sluice;", "access_log " + d + "/access.log sluice;")
        // temp directories nginx creates at start (proxy buffering is off, bodies stay in memory: never written)
        .replace("http {\n", "http {\n  client_body_temp_path " + d + "/tmp/body; proxy_temp_path " + d
            + "/tmp/proxy; fastcgi_temp_path " + d + "/tmp/fastcgi; uwsgi_temp_path " + d + "/tmp/uwsgi; "
            + "scgi_temp_path " + d + "/tmp/scgi;\n")
        .replace("10.0.0.11:8080", replicaA)
        .replace("10.0.0.12:8080", replicaB)
        .replace("listen 80;", "listen 127.0.0.1:" + httpPort + ";")
        .replace("listen [::]:80;", "listen [::1]:" + httpPort + ";")
        .replace("listen 443 ssl http2;", "listen 127.0.0.1:" + httpsPort + " ssl http2;")
        .replace("listen [::]:443 ssl http2;", "listen [::1]:" + httpsPort + " ssl http2;")
        .replace("/etc/sluice/tls/fullchain.pem", cert.toAbsolutePath().toString())
        .replace("/etc/sluice/tls/privkey.pem", key.toAbsolutePath().toString());
  }

  /** Writes {@code configText} to {@code dir/nginx.conf} and runs {@code nginx -t} on it; returns its output. */
  public static Result test(Path dir, String configText) {
    Path conf = write(dir, configText);
    return run(List.of(binary(), "-t", "-p", dir.toAbsolutePath() + "/", "-c", conf.toString(), "-e",
        dir.toAbsolutePath().resolve("error.log").toString()));
  }

  /** The exit code and output of an nginx command. */
  public record Result(int exitCode, String output) {}

  /**
   * Starts nginx in the foreground on {@code configText} (written to {@code dir/nginx.conf}) and waits until it
   * accepts connections on {@code port}; fails with the error log otherwise.
   */
  public static NginxProcess start(Path dir, String configText, int port) {
    Path conf = write(dir, configText);
    List<String> command = List.of(binary(), "-p", dir.toAbsolutePath() + "/", "-c", conf.toString(), "-e",
        dir.toAbsolutePath().resolve("error.log").toString(), "-g", "daemon off;");
    Process p;
    try {
      p = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("nginx.out").toFile())).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + binary() + " (install nginx: apt-get install nginx; "
          + "./test.sh does)", e);
    }
    NginxProcess nginx = new NginxProcess(p, dir, conf);
    try {
      org.awaitility.Awaitility.await("nginx listening on " + port).atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(50)).until(() -> {
            if (!p.isAlive()) throw new IllegalStateException("nginx exited: " + nginx.errorLog());
            return accepts(port);
          });
    } catch (RuntimeException e) {
      nginx.close();
      throw e;
    }
    return nginx;
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  public Path config() {
    return config;
  }

  public Path accessLog() {
    return dir.resolve("access.log");
  }

  /** The access log's lines so far. */
  public List<String> accessLogLines() {
    try {
      return Files.exists(accessLog()) ? Files.readAllLines(accessLog(), StandardCharsets.UTF_8) : List.of();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** nginx's error log and console output, for diagnosis. */
  public String errorLog() {
    StringBuilder out = new StringBuilder();
    for (String name : List.of("error.log", "nginx.out")) {
      Path f = dir.resolve(name);
      try {
        if (Files.exists(f)) out.append("--- ").append(name).append('\n').append(Files.readString(f));
      } catch (IOException e) {
        out.append("(cannot read ").append(f).append(")\n");
      }
    }
    return out.toString();
  }

  /** SIGTERM (fast shutdown), then SIGKILL after 10 s. */
  @Override
  public void close() {
    if (!process.isAlive()) return;
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Path write(Path dir, String configText) {
    try {
      Files.createDirectories(dir.resolve("tmp"));
      // nginx's workers run as www-data when the tests run as root: they must reach the files under dir
      if (Files.getFileStore(dir).supportsFileAttributeView("posix")) {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      }
      Path conf = dir.resolve("nginx.conf");
      Files.writeString(conf, configText, StandardCharsets.UTF_8);
      return conf;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Result run(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " did not finish in 30 s");
      }
      return new Result(p.exitValue(), out);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + binary() + " (install nginx: apt-get install nginx; "
          + "./test.sh does)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
