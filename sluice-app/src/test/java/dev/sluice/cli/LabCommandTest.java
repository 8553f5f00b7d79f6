package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code sluice lab}: the report names the command that regenerates it, release penalty included. */
class LabCommandTest {
  @Test
  void theReportCarriesTheReleasePenaltyItWasRunWithAndANegativeOneIsRefused(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("lab.md");

    int code = new CommandLine(new LabCommand()).execute("--quick", "--duration", "20", "--seeds", "1",
        "--threads", "1", "--release-penalty", "3000", "--out", out.toString());

    assertThat(code).isZero();
    assertThat(Files.readString(out)).contains("--release-penalty 3000");
    assertThat(dir.resolve("lab.svg")).exists();
    assertThat(new CommandLine(new LabCommand()).execute("--quick", "--release-penalty", "-5", "--out",
        out.toString())).isNotZero();
  }
}
