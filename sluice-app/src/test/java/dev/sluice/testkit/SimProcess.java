package dev.sluice.testkit;

import dev.sluice.sim.SimOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One simulated node in its own JVM ({@code sluice sim}, run from the test JVM's class path as
 * {@link SluiceProcess} runs the gateway), for faults only a process can have: {@link #pause()} is {@code SIGSTOP}
 * (the process stops answering, the kernel still accepts connections and buffers requests, as a node whose machine
 * froze), {@link #resume()} is {@code SIGCONT}. {@link #close()} resumes the process first, so a test that fails while
 * the node is paused still ends it.
 *
 * <p>The node listens on a free port chosen by the node itself (port 0 unless the options say otherwise); its address
 * is read from the line {@code sim … listening on http://…} it prints. A JVM start costs 1-2 s: start few of them.
 */
public final class SimProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("listening on (https?://\\S+)");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final Process process;
  private final SimOptions options;
  private final Path output;
  private volatile String baseUrl;

  private SimProcess(Process process, SimOptions options, Path output) {
    this.process = process;
    this.options = options;
    this.output = output;
  }

  /**
   * Starts {@code sluice sim} with the id, host, port, GPU, models, time scale, seed and engine overrides of
   * {@code options} (TLS and the other fields are not passed), and waits until it answers {@code GET /}.
   */
  public static SimProcess start(SimOptions options) {
    Objects.requireNonNull(options, "options");
    if (options.id() == null) throw new IllegalArgumentException("options.id: missing (give the node a name)");
    if (options.tls()) throw new IllegalArgumentException("options: TLS is not supported by SimProcess");
    List<String> command = SluiceProcess.sluiceCommand("sim",
        "--id", options.id(), "--host", options.host(), "--port", Integer.toString(options.port()),
        "--gpu", options.gpu().name(), "--time-scale", Double.toString(options.timeScale()),
        "--seed", Long.toString(options.seed()));
    for (String model : options.models()) command.addAll(List.of("--model", model));
    for (Map.Entry<String, Double> e : options.overrides().entrySet()) {
      command.addAll(List.of("--set", e.getKey() + "=" + e.getValue()));
    }
    Path output = Path.of("target", "sim-processes", options.id() + "-" + System.nanoTime() + ".log");
    Process p;
    try {
      Files.createDirectories(output.toAbsolutePath().getParent());
      p = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile())).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start sim " + options.id(), e);
    }
    SimProcess sim = new SimProcess(p, options, output);
    try {
      sim.awaitListening();
    } catch (RuntimeException e) {
      sim.close();
      throw e;
    }
    return sim;
  }

  private void awaitListening() {
    org.awaitility.Awaitility.await("sim " + options.id() + " listening and answering GET /").atMost(START_TIMEOUT)
        .pollInterval(Duration.ofMillis(50)).until(() -> {
          if (!process.isAlive()) {
            throw new IllegalStateException("sim " + options.id() + " exited with " + process.exitValue()
                + "; its output:\n" + output());
          }
          if (baseUrl == null) {
            Matcher m = LISTENING.matcher(output());
            if (!m.find()) return false;
            baseUrl = m.group(1);
          }
          try {
            return Http.get(baseUrl + "/").statusCode() == 200;
          } catch (IllegalStateException e) {
            return false; // not answering yet
          }
        });
  }

  /** The node's id. */
  public String id() {
    return options.id();
  }

  /** The options it was started with (port as given, not as bound: see {@link #baseUrl()}). */
  public SimOptions options() {
    return options;
  }

  /** {@code http://127.0.0.1:<port>}, the address the node printed. */
  public String baseUrl() {
    return baseUrl;
  }

  public long pid() {
    return process.pid();
  }

  /** {@code SIGSTOP}: the process stops at once; connections are still accepted by the kernel and never answered. */
  public void pause() {
    signal("STOP");
  }

  /** {@code SIGCONT}: the process goes on where it stopped (buffered requests are then read and answered). */
  public void resume() {
    signal("CONT");
  }

  private void signal(String name) {
    if (!process.isAlive()) throw new IllegalStateException("sim " + options.id() + " is not running");
    try {
      Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).redirectErrorStream(true)
          .start();
      String said = new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed: " + said);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("kill -" + name + " " + process.pid(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while sending SIG" + name, e);
    }
  }

  /** What the process printed so far (stdout and stderr). */
  public String output() {
    return SluiceProcess.read(output);
  }

  /** Resumes the process if it was paused, then SIGTERM, SIGKILL after 10 s. */
  @Override
  public void close() {
    if (!process.isAlive()) return;
    try {
      signal("CONT"); // a stopped process would not act on SIGTERM until continued
    } catch (RuntimeException e) {
      // gone meanwhile, or kill unavailable: destroyForcibly below still ends it
    }
    SluiceProcess.stop(process);
  }
}
