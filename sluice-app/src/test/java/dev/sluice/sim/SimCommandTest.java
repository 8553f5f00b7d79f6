package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.SimCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SimCommandTest {

  @Test
  void rejectsAnUnknownGpuListingTheChoices() {
    StringWriter err = new StringWriter();
    CommandLine command = new CommandLine(new SimCommand()).setErr(new PrintWriter(err));

    int exitCode = command.execute("--gpu", "B200");

    assertThat(exitCode).isEqualTo(2);
    assertThat(err.toString()).contains("B200", "A10", "A10_OLLAMA", "A100", "A100_BF16", "H100", "H100_BF16");
  }

  @Test
  void rejectsAnUnknownDialectListingTheChoices() {
    StringWriter err = new StringWriter();
    CommandLine command = new CommandLine(new SimCommand()).setErr(new PrintWriter(err));

    int exitCode = command.execute("--dialects", "openai,grpc");

    assertThat(exitCode).isEqualTo(2);
    assertThat(err.toString()).contains("dialects", "grpc", "anthropic", "ollama", "openai", "responses");
  }
}
