package dev.sluice.testkit;

import dev.sluice.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

/** Runs the {@code sluice} command line in this JVM and keeps what it printed. */
public final class Cli {
  private Cli() {}

  /**
   * Runs {@code sluice args…}; returns {stdout, stderr, exit code}. System.out and System.err are captured too (some
   * commands print there), so callers must not run commands concurrently.
   */
  public static synchronized String[] run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    StringWriter err = new StringWriter();
    PrintStream savedOut = System.out;
    PrintStream savedErr = System.err;
    int code;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(errBytes, true, StandardCharsets.UTF_8));
      code = Main.commandLine().setErr(new PrintWriter(err, true)).execute(args);
    } finally {
      System.setOut(savedOut);
      System.setErr(savedErr);
    }
    return new String[] {out.toString(StandardCharsets.UTF_8), errBytes.toString(StandardCharsets.UTF_8) + err,
        Integer.toString(code)};
  }
}
