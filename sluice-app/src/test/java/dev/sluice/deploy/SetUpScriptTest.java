package dev.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's test command, {@code ./test.sh}, on a fresh machine: its install path runs against a fake {@code id},
 * {@code dpkg}, {@code apt-get}, {@code sudo} and {@code mvn} on an otherwise empty {@code PATH}, and the test checks
 * the exact commands it would run, as root and as a user with sudo. (CI's machine already has the packages, so CI
 * alone never runs this path.)
 */
class SetUpScriptTest {
  private static final Path TEST_SH = Path.of("..", "test.sh").toAbsolutePath().normalize();
  private static final String MAVEN = "mvn -B -Dstyle.color=never verify";

  @TempDir Path dir;

  @Test
  void asRootMissingPackagesAreInstalledWithoutSudoAndNoninteractively() throws Exception {
    Run run = run("0", "redis-server nginx", true, true);

    assertThat(run.exit).as(run.output).isZero();
    assertThat(run.commands).containsExactly(
        "apt-get update -qq [DEBIAN_FRONTEND=noninteractive]",
        "apt-get install -y -qq redis-server nginx [DEBIAN_FRONTEND=noninteractive]",
        MAVEN);
  }

  @Test
  void asAUserWithSudoMissingPackagesAreInstalledThroughSudo() throws Exception {
    Run run = run("1000", "redis-server nginx", true, true);

    assertThat(run.exit).as(run.output).isZero();
    assertThat(run.commands).containsExactly(
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        "apt-get update -qq [DEBIAN_FRONTEND=noninteractive]",
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server nginx",
        "apt-get install -y -qq redis-server nginx [DEBIAN_FRONTEND=noninteractive]",
        MAVEN);
  }

  @Test
  void aMissingOpensslCommandIsInstalledWithThePackages() throws Exception {
    Run run = run("0", "nginx", false, true);

    assertThat(run.exit).as(run.output).isZero();
    assertThat(run.commands).containsExactly(
        "apt-get update -qq [DEBIAN_FRONTEND=noninteractive]",
        "apt-get install -y -qq nginx openssl [DEBIAN_FRONTEND=noninteractive]",
        MAVEN);
  }

  @Test
  void withEverythingInstalledOnlyMavenRuns() throws Exception {
    Run run = run("1000", "", true, true);

    assertThat(run.exit).as(run.output).isZero();
    assertThat(run.commands).containsExactly(MAVEN);
  }

  @Test
  void aUserWithoutSudoIsToldWhichPackagesToInstallAndNothingRuns() throws Exception {
    Run run = run("1000", "redis-server nginx", true, false);

    assertThat(run.exit).isEqualTo(1);
    assertThat(run.commands).isEmpty();
    assertThat(run.output).contains("missing Debian packages: redis-server nginx")
        .contains("apt-get install -y redis-server nginx");
  }

  @Test
  void extraArgumentsGoToMaven() throws Exception {
    Run run = run("0", "", true, true, "-Dtest=FailoverTest", "-pl", "sluice-app");

    assertThat(run.exit).as(run.output).isZero();
    assertThat(run.commands).containsExactly(MAVEN + " -Dtest=FailoverTest -pl sluice-app");
  }

  private record Run(int exit, List<String> commands, String output) {}

  /**
   * Runs test.sh with only fakes on PATH.
   *
   * @param uid what {@code id -u} prints
   * @param missing the packages {@code dpkg -s} reports as not installed (space-separated)
   * @param openssl whether an {@code openssl} command is on PATH
   * @param sudo whether a {@code sudo} command is on PATH
   */
  private Run run(String uid, String missing, boolean openssl, boolean sudo, String... mavenArgs) throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path log = dir.resolve("commands.log");
    Files.deleteIfExists(log);
    fake(bin, "id", "[ \"$1\" = -u ] && echo \"$FAKE_UID\" || echo \"uid=$FAKE_UID\"");
    fake(bin, "dpkg", "for p in $FAKE_MISSING; do [ \"$2\" = \"$p\" ] && exit 1; done; exit 0");
    fake(bin, "apt-get", "echo \"apt-get $* [DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}]\" >> \"$FAKE_LOG\"");
    fake(bin, "mvn", "echo \"mvn $*\" >> \"$FAKE_LOG\"");
    fake(bin, "java", "exit 0");
    if (sudo) fake(bin, "sudo", "echo \"sudo $*\" >> \"$FAKE_LOG\"; exec \"$@\"");
    if (openssl) fake(bin, "openssl", "exit 0");
    for (String tool : List.of("dirname", "env")) {
      Path real = Path.of("/usr/bin", tool);
      Files.deleteIfExists(bin.resolve(tool));
      Files.createSymbolicLink(bin.resolve(tool), real);
    }
    List<String> command = new java.util.ArrayList<>(List.of("/bin/bash", TEST_SH.toString()));
    command.addAll(List.of(mavenArgs));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    Map<String, String> env = pb.environment();
    env.clear();
    env.put("PATH", bin.toString());
    env.put("HOME", dir.toString());
    env.put("FAKE_UID", uid);
    env.put("FAKE_MISSING", missing);
    env.put("FAKE_LOG", log.toString());
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    List<String> commands = Files.exists(log) ? Files.readAllLines(log) : List.of();
    return new Run(p.exitValue(), commands, output);
  }

  private static void fake(Path bin, String name, String body) throws IOException {
    Path f = bin.resolve(name);
    Files.writeString(f, "#!/bin/bash\n" + body + "\n");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
