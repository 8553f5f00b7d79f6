package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CliTest {
  @Test
  void helpListsEveryCommand() {
    StringWriter out = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out));
    assertThat(cli.execute("--help")).isZero();
    assertThat(out.toString()).contains("serve", "demo", "sim");
  }

  @Test
  void serveRefusesAnInvalidConfigWithExitCode2AndNamesTheKey(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.json");
    Files.writeString(bad, "{\"providers\":{\"qwen\":{\"models\":[{\"id\":\"qwen3:32b\"}],"
        + "\"nodes\":[{\"id\":\"n1\",\"baseUrl\":\"10.0.0.5:11434\"}]}}}");
    PrintStream saved = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = Main.commandLine().execute("serve", "--config", bad.toString());
    } finally {
      System.setErr(saved);
    }
    assertThat(code).isEqualTo(Main.EXIT_BAD_CONFIG);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("providers.qwen.nodes[0].baseUrl")
        .contains("refusing to start");
  }
}
