package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testkit.Cli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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

  @Test
  void keysUsageErrorsNameTheRealCommandNotMainClass() {
    String[] r = Cli.run("keys", "create", "--tenant", "acme");
    assertThat(r[2]).isEqualTo("2");
    assertThat(r[1]).contains("say where the keys are").contains("Usage: sluice keys create")
        .doesNotContain("<main class>");
  }

  @Test
  void aMisspeltOptionIsReportedAsUnknownRatherThanTheRequiredOneAsMissing() {
    String[] r = Cli.run("serve", "--confg", "x.json");
    assertThat(r[2]).isEqualTo("2");
    assertThat(r[1]).contains("Unknown option: '--confg'").contains("--config")
        .doesNotContain("Missing required option");
    assertThat(Cli.run("doctor", "--confg=x.json")[1]).contains("Unknown option: '--confg'");
    assertThat(Cli.run("serve")[1]).contains("Missing required option: '--config");
  }

  @Test
  void everyCommandsHelpPrintsNoPicocliWarningAndCitesNoFileTheRepositoryLacks() {
    List<List<String>> commands = new ArrayList<>();
    collect(Main.commandLine(), new ArrayList<>(), commands);
    assertThat(commands).extracting(c -> String.join(" ", c)).contains("lab", "keys create", "bench");
    for (List<String> command : commands) {
      List<String> args = new ArrayList<>(command);
      args.add("--help");
      String[] r = Cli.run(args.toArray(String[]::new));
      assertThat(r[2]).as(String.join(" ", args)).isEqualTo("0");
      assertThat(r[1]).as(String.join(" ", args) + " stderr").isEmpty();
      assertThat(r[0]).as(String.join(" ", args)).doesNotContain("design/");
    }
  }

  private static void collect(CommandLine cmd, List<String> path, List<List<String>> out) {
    cmd.getSubcommands().forEach((name, sub) -> {
      if (name.equals("help")) return;
      List<String> p = new ArrayList<>(path);
      p.add(name);
      out.add(p);
      collect(sub, p, out);
    });
  }

  @Test
  void versionPrintsTheMavenProjectVersion() throws Exception {
    String pom = Files.readString(Path.of("pom.xml"));
    Matcher parent = Pattern.compile("<parent>.*?<version>([^<]+)</version>", Pattern.DOTALL).matcher(pom);
    assertThat(parent.find()).isTrue();
    String[] r = Cli.run("--version");
    assertThat(r[0].trim()).isEqualTo("sluice " + parent.group(1));
  }

  @Test
  void serveOnAPortAnotherProcessHoldsNamesTheHostAndPort(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("sluice.json");
    Files.writeString(config, "{\"auth\":{\"mode\":\"none\"},\"providers\":{\"p\":{\"api\":\"ollama\","
        + "\"models\":[{\"id\":\"m\"}],\"nodes\":[{\"id\":\"n1\",\"baseUrl\":\"http://127.0.0.1:1\"}]}}}");
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      String[] r = Cli.run("serve", "--config", config.toString(), "--host", "127.0.0.1",
          "--port", Integer.toString(taken.getLocalPort()));
      assertThat(r[2]).isEqualTo("1");
      assertThat(r[1]).contains("cannot start the gateway on 127.0.0.1:" + taken.getLocalPort() + ": ")
          .containsIgnoringCase("address already in use").contains("--port");
    }
  }
}
