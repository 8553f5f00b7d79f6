package dev.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.flow.Band;
import dev.sluice.limit.Limits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayKeysTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @TempDir Path dir;

  private static KeyGenerator.Created create(String tenant) {
    return KeyGenerator.create(tenant, Set.of("qwen3:32b"), new Limits(60, 0, 0), null, "ci", T0);
  }

  @Test
  void aNewKeyHasThePrefixFortyBase62CharactersAndAnIdOfItsFirstEight() {
    KeyGenerator.Created c = create("acme");
    assertThat(c.secret()).matches("sk-sluice-[A-Za-z0-9]{40}");
    assertThat(c.key().id()).isEqualTo(c.secret().substring(0, 18)).isEqualTo(KeyGenerator.idOf(c.secret()));
    assertThat(c.key().sha256Hex()).isEqualTo(KeyGenerator.sha256Hex(c.secret())).hasSize(64);
    assertThat(KeyGenerator.newAdminToken()).matches("sluice-admin-[A-Za-z0-9]{40}");
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 1000; i++) ids.add(create("acme").key().id());
    assertThat(ids).hasSize(1000);
  }

  @Test
  void idOfIsNullForAnythingThatCannotBeAKey() {
    assertThat(KeyGenerator.idOf(null)).isNull();
    assertThat(KeyGenerator.idOf("sk-sluice-1234567")).isNull();
    assertThat(KeyGenerator.idOf("sk-other-12345678")).isNull();
    assertThat(KeyGenerator.idOf("sk-sluice-12345678")).isEqualTo("sk-sluice-12345678");
  }

  @Test
  void theSecretNeverAppearsInToStringOfAnything() {
    KeyGenerator.Created c = create("acme");
    ApiKeys keys = ApiKeys.of(List.of(c.key()));
    String random = c.secret().substring(18);
    for (Object o : List.of(c, c.key(), keys, keys.find(c.secret(), 0))) {
      assertThat(o.toString()).doesNotContain(random).doesNotContain(c.key().sha256Hex());
    }
  }

  @Test
  void aKeyIsFoundByItsSecretAndNotByAnythingElse() {
    KeyGenerator.Created a = create("acme");
    KeyGenerator.Created b = create("beta");
    ApiKeys keys = ApiKeys.of(List.of(a.key(), b.key()));
    assertThat(keys.find(a.secret(), 0)).isEqualTo(new ApiKeys.Found(a.key()));
    assertThat(keys.find(b.secret(), 0)).isEqualTo(new ApiKeys.Found(b.key()));
    String sameIdWrongSecret = a.key().id() + "x".repeat(32);
    assertThat(keys.find(sameIdWrongSecret, 0)).isInstanceOf(ApiKeys.NotFound.class);
    assertThat(keys.find(a.secret() + "x", 0)).isInstanceOf(ApiKeys.NotFound.class);
    assertThat(keys.find(a.secret().substring(0, 49), 0)).isInstanceOf(ApiKeys.NotFound.class);
    assertThat(keys.find("sk-sluice-", 0)).isInstanceOf(ApiKeys.NotFound.class);
    assertThat(keys.find(null, 0)).isInstanceOf(ApiKeys.NotFound.class);
  }

  @Test
  void aRevokedKeyIsReportedRevokedAndAnExpiredKeyExpired() {
    KeyGenerator.Created a = KeyGenerator.create("acme", null, null, T0.plusSeconds(60), null, T0);
    ApiKeys keys = ApiKeys.of(List.of(a.key()));
    assertThat(keys.find(a.secret(), T0.plusSeconds(59).toEpochMilli())).isInstanceOf(ApiKeys.Found.class);
    assertThat(keys.find(a.secret(), T0.plusSeconds(60).toEpochMilli())).isInstanceOf(ApiKeys.Expired.class);
    assertThat(a.key().active(T0.toEpochMilli())).isTrue();
    ApiKeys revoked = keys.revoke(a.key().id(), T0.plusSeconds(1));
    assertThat(revoked.find(a.secret(), T0.toEpochMilli())).isInstanceOf(ApiKeys.Revoked.class);
    assertThat(revoked.byId(a.key().id()).active(T0.toEpochMilli())).isFalse();
    assertThat(keys.find(a.secret(), T0.toEpochMilli())).as("snapshots are immutable").isInstanceOf(ApiKeys.Found.class);
    assertThatThrownBy(() -> keys.revoke("sk-sluice-NOPE0000", T0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void snapshotsKeepCreationOrderAndRefuseDuplicateIds() {
    KeyGenerator.Created a = KeyGenerator.create("acme", null, null, null, null, T0.plusSeconds(5));
    KeyGenerator.Created b = KeyGenerator.create("acme", null, null, null, null, T0);
    ApiKeys keys = ApiKeys.empty().with(a.key()).with(b.key());
    assertThat(keys.all()).containsExactly(b.key(), a.key());
    assertThat(keys.size()).isEqualTo(2);
    assertThatThrownBy(() -> ApiKeys.of(List.of(a.key(), a.key()))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("appears twice");
  }

  @Test
  void aTenantIdIsValidated() {
    assertThatThrownBy(() -> create("a b")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("tenant: \"a b\" is not a tenant id (letters, digits");
    assertThat(ApiKey.isTenantId("acme.eu:team@x-1_")).isTrue();
    assertThat(ApiKey.isTenantId("x".repeat(65))).isFalse();
  }

  @Test
  void aKeyFileRoundTripsAndHoldsOnlyIdsAndHashes() throws IOException {
    KeyGenerator.Created a = create("acme");
    KeyGenerator.Created b = KeyGenerator.create("beta", null, null, T0.plusSeconds(3600), null, T0.plusSeconds(1));
    ApiKeys keys = ApiKeys.of(List.of(a.key(), b.key())).revoke(b.key().id(), T0.plusSeconds(2));
    Path file = dir.resolve("sub/keys.json");
    KeyFile.write(file, keys);
    assertThat(KeyFile.read(file).all()).isEqualTo(keys.all());
    String text = Files.readString(file);
    assertThat(text).contains(a.key().id(), a.key().sha256Hex())
        .doesNotContain(a.secret().substring(18), b.secret().substring(18)).doesNotContain("null");
    if (Files.getFileStore(dir).supportsFileAttributeView("posix")) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    }
    KeyFile.write(file, ApiKeys.empty());
    assertThat(KeyFile.read(file).size()).isZero();
    try (var files = Files.list(file.getParent())) {
      assertThat(files).containsExactly(file); // no temp files left behind
    }
  }

  @Test
  void aMissingKeyFileIsEmptyAndExplicitNullsAreAccepted() throws IOException {
    assertThat(KeyFile.read(dir.resolve("nope.json")).size()).isZero();
    Path file = dir.resolve("keys.json");
    Files.writeString(file, "{\"keys\":[{\"id\":\"sk-sluice-AbCd1234\",\"sha256\":\"" + "ab".repeat(32)
        + "\",\"tenant\":\"acme\",\"models\":null,\"limits\":null,\"createdAt\":\"2026-01-01T00:00:00Z\","
        + "\"expiresAt\":null,\"revokedAt\":null,\"note\":null}]}");
    ApiKey k = KeyFile.read(file).byId("sk-sluice-AbCd1234");
    assertThat(k.models()).isEmpty();
    assertThat(k.limits()).isNull();
  }

  @Test
  void aMalformedKeyFileNamesTheFileTheKeyAndTheField() throws IOException {
    String good = "{\"id\":\"sk-sluice-AbCd1234\",\"sha256\":\"" + "ab".repeat(32)
        + "\",\"tenant\":\"acme\",\"createdAt\":\"2026-01-01T00:00:00Z\"}";
    Path file = dir.resolve("keys.json");
    String[][] cases = {
        {"{\"keys\":[" + good + "," + good.replace("AbCd1234", "AbCd1235") + ","
            + good.replace("AbCd1234", "AbCd1236").replace("\"acme\"", "\"a b\"") + "]}",
            "keys file " + file + ": keys[2].tenant: \"a b\" is not a tenant id (letters, digits, . _ : @ -"},
        {"{\"keys\":[" + good.replace("\"sha256\":\"ab", "\"sha256\":\"zz") + "]}",
            "keys file " + file + ": keys[0].sha256: not a SHA-256 digest"},
        {"{\"keys\":[" + good.replace("2026-01-01T00:00:00Z", "yesterday") + "]}",
            "keys file " + file + ": keys[0].createdAt: \"yesterday\" is not an instant"},
        {"{\"keys\":[" + good.replace("}", ",\"limits\":{\"requestsPerMinute\":-5}}") + "]}",
            "keys file " + file + ": keys[0].limits.requestsPerMinute: -5 is out of range"},
        {"{\"keys\":[" + good.replace("}", ",\"secret\":\"x\"}") + "]}",
            "keys file " + file + ": keys[0].secret: unknown field"},
        {"{\"keys\":[" + good + "," + good + "]}", "keys file " + file + ": keys: id sk-sluice-AbCd1234 appears twice"},
        {"{\"keys\":[", "keys file " + file + ": not valid JSON"},
    };
    for (String[] c : cases) {
      Files.writeString(file, c[0]);
      assertThatThrownBy(() -> KeyFile.read(file)).isInstanceOf(IOException.class).hasMessageStartingWith(c[1]);
    }
  }

  @Test
  void aKeysWeightAndHighestBandAreStoredListedAndReadBackAndAKeyWithoutThemStoresNeither() throws IOException {
    KeyGenerator.Created batch = KeyGenerator.create("reports", Set.of(), null, 4, Band.BATCH, null, null, T0);
    KeyGenerator.Created plain = create("acme");
    Path file = dir.resolve("keys.json");
    KeyFile.write(file, ApiKeys.of(List.of(batch.key(), plain.key())));

    ApiKeys read = KeyFile.read(file);
    assertThat(read.all()).isEqualTo(List.of(batch.key(), plain.key()));
    assertThat(read.byId(batch.key().id()).weight()).isEqualTo(4);
    assertThat(read.byId(batch.key().id()).maxBand()).isEqualTo(Band.BATCH);
    assertThat(read.byId(plain.key().id()).weight()).as("0: none, the tenant's applies").isZero();
    assertThat(read.byId(plain.key().id()).maxBand()).isNull();
    assertThat(Files.readString(file)).contains("\"weight\" : 4", "\"maxPriority\" : \"batch\"")
        .containsOnlyOnce("weight").containsOnlyOnce("maxPriority");

    assertThat(KeyFile.publicView(batch.key(), T0.toEpochMilli()).path("weight").asInt()).isEqualTo(4);
    assertThat(KeyFile.publicView(batch.key(), T0.toEpochMilli()).path("maxPriority").asText()).isEqualTo("batch");
    assertThat(KeyFile.publicView(plain.key(), T0.toEpochMilli()).has("weight")).isFalse();
    assertThat(KeyFile.publicView(plain.key(), T0.toEpochMilli()).has("maxPriority")).isFalse();
    assertThat(read.revoke(batch.key().id(), T0.plusSeconds(1)).byId(batch.key().id()))
        .as("revoking keeps the weight and band").extracting(ApiKey::weight, ApiKey::maxBand)
        .containsExactly(4, Band.BATCH);
  }

  @Test
  void aKeyWithResumeFalseIsStoredListedAndReadBackAndOtherKeysStoreNoResumeField() throws IOException {
    ApiKey k = create("audit").key();
    ApiKey strict = new ApiKey(k.id(), k.sha256Hex(), k.tenant(), k.models(), k.limits(), k.weight(), k.maxBand(),
        k.createdAt(), k.expiresAt(), k.revokedAt(), k.note(), false);
    ApiKey plain = create("acme").key();
    Path file = dir.resolve("keys.json");
    KeyFile.write(file, ApiKeys.of(List.of(strict, plain)));
    ApiKeys read = KeyFile.read(file);
    assertThat(read.byId(strict.id()).resumeStreams()).isFalse();
    assertThat(read.byId(plain.id()).resumeStreams()).isTrue();
    assertThat(Files.readString(file)).containsOnlyOnce("\"resume\" : false");
    assertThat(KeyFile.publicView(strict, T0.toEpochMilli()).path("resume").asBoolean(true)).isFalse();
    assertThat(KeyFile.publicView(plain, T0.toEpochMilli()).has("resume")).isFalse();
    assertThat(read.revoke(strict.id(), T0.plusSeconds(1)).byId(strict.id()).resumeStreams()).isFalse();
  }

  @Test
  void aKeysWeightMustBeFromOneToAThousand() {
    for (int w : new int[] {-1, 1001, Integer.MAX_VALUE}) {
      assertThatThrownBy(() -> KeyGenerator.create("acme", null, null, w, null, null, null, T0))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("weight: " + w + " is not a weight (expected a whole number from 1 to 1000; leave it out for "
              + "the tenant's weight in routing.flow)");
    }
    assertThat(KeyGenerator.create("acme", null, null, 1000, Band.INTERACTIVE, null, null, T0).key().weight())
        .isEqualTo(1000);
  }

  @Test
  void aKeyFileWithABadWeightOrBandNamesTheKeyTheFieldAndWhatIsAccepted() throws IOException {
    String good = "{\"id\":\"sk-sluice-AbCd1234\",\"sha256\":\"" + "ab".repeat(32)
        + "\",\"tenant\":\"acme\",\"createdAt\":\"2026-01-01T00:00:00Z\"}";
    Path file = dir.resolve("keys.json");
    String[][] cases = {
        {good.replace("}", ",\"weight\":0}"), "keys[0].weight: 0 is not a weight (expected a whole number from 1 to"
            + " 1000, or no weight field for the tenant's)"},
        {good.replace("}", ",\"weight\":\"2\"}"), "keys[0].weight: \"2\" is not a weight"},
        {good.replace("}", ",\"weight\":2.5}"), "keys[0].weight: 2.5 is not a weight"},
        {good.replace("}", ",\"maxPriority\":\"urgent\"}"), "keys[0].maxPriority: \"urgent\" is not a priority band"
            + " (expected interactive or batch, or no maxPriority field for the tenant's)"},
        {good.replace("}", ",\"maxPriority\":1}"), "keys[0].maxPriority: expected a string"},
    };
    for (String[] c : cases) {
      Files.writeString(file, "{\"keys\":[" + c[0] + "]}");
      assertThatThrownBy(() -> KeyFile.read(file)).isInstanceOf(IOException.class)
          .hasMessageStartingWith("keys file " + file + ": " + c[1]);
    }
    Files.writeString(file, "{\"keys\":[" + good.replace("}", ",\"weight\":null,\"maxPriority\":null}") + "]}");
    assertThat(KeyFile.read(file).byId("sk-sluice-AbCd1234").weight()).isZero();
  }

  @Test
  void authModesParseFromTheirConfigNames() {
    for (AuthMode m : AuthMode.values()) assertThat(AuthMode.parse(m.configName())).isEqualTo(m);
    assertThat(AuthMode.parse("tokens+jwt").acceptsKeys()).isTrue();
    assertThat(AuthMode.parse("tokens+jwt").acceptsJwt()).isTrue();
    assertThat(AuthMode.parse("jwt").acceptsKeys()).isFalse();
    assertThat(AuthMode.parse("none").acceptsJwt()).isFalse();
    assertThatThrownBy(() -> AuthMode.parse("oauth")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("none, tokens, jwt, tokens+jwt");
  }
}
