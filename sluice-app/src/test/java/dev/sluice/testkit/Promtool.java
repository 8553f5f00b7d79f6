package dev.sluice.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Prometheus' own parser, {@code promtool} (Debian package prometheus; ./test.sh installs it). */
public final class Promtool {
  private Promtool() {}

  /**
   * Runs {@code promtool check metrics} on {@code text}: asserts it parses (exit 0, or 3 = lint findings only) and
   * returns the lint findings, one per line, for the caller to judge.
   */
  public static List<String> checkMetrics(String text) {
    try {
      Process process = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
      process.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
      process.getOutputStream().close();
      ByteArrayOutputStream output = new ByteArrayOutputStream();
      process.getInputStream().transferTo(output);
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
      String findings = output.toString(StandardCharsets.UTF_8);
      assertThat(process.exitValue()).as("promtool check metrics: %s", findings).isIn(0, 3);
      return findings.lines().filter(l -> !l.isBlank()).toList();
    } catch (java.io.IOException e) {
      throw new AssertionError("promtool is missing: install the Debian package prometheus (./test.sh does)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
