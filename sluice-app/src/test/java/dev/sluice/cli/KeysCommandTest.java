package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.auth.ApiKeys;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.flow.Band;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice keys}: create, list, revoke in a keys file; admin tokens; clear errors without stack traces. */
class KeysCommandTest {
  @TempDir Path dir;

  /** Runs the CLI; {stdout, stderr, exit code}. */
  private static String[] run(String... args) {
    return dev.sluice.testkit.Cli.run(args);
  }

  @Test
  void createListAndRevokeWorkOnAKeysFileThatHoldsOnlyHashes() throws Exception {
    Path keys = dir.resolve("keys.json");
    String[] created = run("keys", "create", "--keys-file", keys.toString(), "--tenant", "acme", "--model",
        "qwen3:32b", "--rpm", "60", "--expires", "30d", "--note", "ci");
    assertThat(created[2]).isEqualTo("0");
    String secret = created[0].trim();
    assertThat(secret).startsWith(KeyGenerator.PREFIX).hasSize(KeyGenerator.PREFIX.length() + 40);
    assertThat(created[1]).contains("tenant acme").doesNotContain(secret);
    assertThat(Files.readString(keys)).doesNotContain(secret).contains(KeyGenerator.sha256Hex(secret));

    String[] listed = run("keys", "list", "--keys-file", keys.toString());
    assertThat(listed[0]).contains(KeyGenerator.idOf(secret)).contains("acme").contains("active").contains("qwen3:32b")
        .doesNotContain(secret);

    assertThat(run("keys", "revoke", "--keys-file", keys.toString(), KeyGenerator.idOf(secret))[2]).isEqualTo("0");
    assertThat(KeyFile.read(keys).find(secret, System.currentTimeMillis())).isInstanceOf(ApiKeys.Revoked.class);
    assertThat(run("keys", "list", "--keys-file", keys.toString())[0]).contains("revoked");
    String[] unknown = run("keys", "revoke", "--keys-file", keys.toString(), "sk-sluice-NoSuchId");
    assertThat(unknown[2]).isNotEqualTo("0");
    assertThat(unknown[1]).contains("no token with id sk-sluice-NoSuchId");
  }

  @Test
  void createStoresAWeightAndHighestBandThatListShowsAndTheyAreOptional() throws Exception {
    Path keys = dir.resolve("keys.json");
    String[] created = run("keys", "create", "--keys-file", keys.toString(), "--tenant", "reports", "--weight", "4",
        "--max-priority", "batch");
    assertThat(created[2]).as(created[1]).isEqualTo("0");
    String secret = created[0].trim();
    String[] plain = run("keys", "create", "--keys-file", keys.toString(), "--tenant", "acme");
    assertThat(plain[2]).isEqualTo("0");

    var key = KeyFile.read(keys).byId(KeyGenerator.idOf(secret));
    assertThat(key.weight()).isEqualTo(4);
    assertThat(key.maxBand()).isEqualTo(Band.BATCH);
    assertThat(KeyFile.read(keys).byId(KeyGenerator.idOf(plain[0].trim())).weight()).isZero();

    String[] listed = run("keys", "list", "--keys-file", keys.toString());
    assertThat(listed[0]).contains("WEIGHT").contains("MAXPRIORITY");
    String row = listed[0].lines().filter(l -> l.startsWith(KeyGenerator.idOf(secret))).findFirst().orElseThrow();
    assertThat(row.split("\\s+")).contains("4", "batch");
    String plainRow = listed[0].lines().filter(l -> l.contains("acme")).findFirst().orElseThrow();
    assertThat(plainRow.split("\\s+")).as("'-': the tenant's applies").contains("-").doesNotContain("batch");
    String[] json = run("keys", "list", "--keys-file", keys.toString(), "--json");
    assertThat(json[0]).contains("\"weight\":4").contains("\"maxPriority\":\"batch\"");
  }

  @Test
  void aBadWeightOrBandIsOneLineNamingTheOptionAndNothingIsCreated() throws Exception {
    Path keys = dir.resolve("keys.json");
    String[] zero = run("keys", "create", "--keys-file", keys.toString(), "--tenant", "a", "--weight", "0");
    assertThat(zero[2]).isNotEqualTo("0");
    assertThat(zero[1]).contains("--weight 0: expected a whole number from 1 to 1000").doesNotContain("\tat ");
    String[] huge = run("keys", "create", "--keys-file", keys.toString(), "--tenant", "a", "--weight", "1001");
    assertThat(huge[1]).contains("--weight 1001: expected a whole number from 1 to 1000");
    String[] word = run("keys", "create", "--keys-file", keys.toString(), "--tenant", "a", "--weight", "heavy");
    assertThat(word[2]).isNotEqualTo("0");
    assertThat(word[1]).contains("--weight").contains("heavy").doesNotContain("\tat ");
    String[] band = run("keys", "create", "--keys-file", keys.toString(), "--tenant", "a", "--max-priority", "urgent");
    assertThat(band[2]).isNotEqualTo("0");
    assertThat(band[1]).contains("--max-priority urgent: expected interactive or batch").doesNotContain("\tat ");
    assertThat(KeyFile.read(keys).size()).as("nothing was created").isZero();
  }

  @Test
  void adminTokenPrintsTheTokenAndTheConfigLineWithItsHash() {
    String[] r = run("keys", "admin-token");
    assertThat(r[2]).isEqualTo("0");
    String token = r[0].trim();
    assertThat(token).startsWith("sluice-admin-");
    assertThat(r[1]).contains("\"tokenSha256\": \"" + KeyGenerator.sha256Hex(token) + "\"").doesNotContain(token);
  }

  @Test
  void mistakesGetOneClearLineAndANonZeroExitCode() {
    String[] noTarget = run("keys", "list");
    assertThat(noTarget[2]).isNotEqualTo("0");
    assertThat(noTarget[1]).contains("exactly one of --config FILE, --keys-file FILE, --gateway URL or --etcd URL");

    Path badConfig = dir.resolve("bad.json");
    try {
      Files.writeString(badConfig, "{\"auth\":{\"mode\":\"sometimes\"},\"providers\":{}}");
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
    String[] invalid = run("keys", "list", "--config", badConfig.toString());
    assertThat(invalid[2]).isEqualTo(Integer.toString(Main.EXIT_BAD_CONFIG));
    assertThat(invalid[1]).contains("auth.mode").doesNotContain("\tat ");

    String[] badExpiry = run("keys", "create", "--keys-file", dir.resolve("k.json").toString(), "--tenant", "a",
        "--expires", "soon");
    assertThat(badExpiry[2]).isNotEqualTo("0");
    assertThat(badExpiry[1]).contains("--expires soon").doesNotContain("\tat ");

    String[] badTenant = run("keys", "create", "--keys-file", dir.resolve("k.json").toString(), "--tenant", "a b");
    assertThat(badTenant[2]).isNotEqualTo("0");
    assertThat(badTenant[1]).contains("tenant").doesNotContain("\tat ");

    String[] unreachable = run("keys", "list", "--gateway", "http://127.0.0.1:1", "--admin-token-file",
        writeToken());
    assertThat(unreachable[2]).isEqualTo("1");
    assertThat(unreachable[1]).startsWith("sluice keys list: ").doesNotContain("\tat ");
  }

  private String writeToken() {
    try {
      Path f = dir.resolve("admin-token");
      Files.writeString(f, "sluice-admin-x\n");
      return f.toString();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
