package dev.sluice.config;

import static dev.sluice.config.ConfigTexts.OK_PROVIDER;
import static dev.sluice.config.ConfigTexts.json;
import static dev.sluice.config.ConfigTexts.problems;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.degrade.DegradationSettings;
import dev.sluice.limit.LimitSettings;
import dev.sluice.limit.Limits;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code degradation}, {@code cache} and {@code limits} sections. */
class ProtectionSectionTest {
  @Test
  void readsTheDegradationCacheAndLimitSections() throws Exception {
    SluiceConfig c = ConfigLoader.parse(json("""
        {'degradation': {'scope': 'cluster', 'window': '30s', 'minRequests': 10,
                         'thresholds': {'cache': '4%', 'downgrade': 0.1, 'static': 0.25}, 'dwell': '5s',
                         'minEvidenceTime': '0', 'recoveryWindow': '3s',
                         'probeShare': 0.2, 'fallbackOnFailure': false, 'downgrade': {'big': 'small'},
                         'downgradeShare': '25%',
                         'staticReply': {'status': 'degraded', 'message': 'Busy, try later'}},
         'cache': {'maxBytes': 1048576, 'maxEntryBytes': 65536, 'freshTtl': '30s', 'staleTtl': '5m', 'models': ['big']},
         'limits': {'perTenant': {'requestsPerMinute': 60, 'tokensPerMinute': 100000, 'concurrent': 4},
                    'tenants': {'key-0123abcd': {'requestsPerMinute': 600}},
                    'models': {'big': {'concurrent': 16}}, 'overMaxTokens': 'cap'},
         'server': {'maxJsonDepth': 32, 'maxHeaderBytes': 8192},
         'providers': {'p': {'baseUrl': 'http://h:1', 'models': [
            {'id': 'big', 'contextWindow': 24576, 'maxTokens': 4096, 'overflowModel': 'long'},
            {'id': 'long', 'contextWindow': 131072}, {'id': 'small', 'contextWindow': 8192}]}}}
        """), "test");
    var d = c.degradation();
    assertThat(d.scope()).isEqualTo(DegradationSettings.Scope.CLUSTER);
    assertThat(d.window()).isEqualTo(Duration.ofSeconds(30));
    assertThat(d.downgradeShare()).isEqualTo(0.25);
    assertThat(d.cacheThreshold()).isEqualTo(0.04);
    assertThat(d.staticThreshold()).isEqualTo(0.25);
    assertThat(d.minEvidenceTime()).isZero();
    assertThat(d.recoveryWindow()).isEqualTo(Duration.ofSeconds(3));
    assertThat(d.fallbackOnFailure()).isFalse();
    assertThat(d.downgrade()).containsEntry("big", "small");
    assertThat(d.staticMessage()).isEqualTo("Busy, try later");
    assertThat(c.cache().models()).containsExactly("big");
    assertThat(c.cache().staleTtl()).isEqualTo(Duration.ofMinutes(5));
    assertThat(c.limits().perTenant()).isEqualTo(new Limits(60, 100000, 4));
    assertThat(c.limits().forTenant("key-0123abcd")).isEqualTo(new Limits(600, 100000, 4));
    assertThat(c.limits().models().get("big").concurrent()).isEqualTo(16);
    assertThat(c.limits().overMaxTokens()).isEqualTo(LimitSettings.OverMaxTokens.CAP);
    assertThat(c.model("big").orElseThrow().model().overflowModel()).isEqualTo("long");
    assertThat(c.server().maxJsonDepth()).isEqualTo(32);
    assertThat(c.server().maxHeaderBytes()).isEqualTo(8192);
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {'degradation': {'scope': 'region'}, 'providers': {OK}}     | config: degradation.scope: "region" is not a scope (expected "model"
      {'degradation': {'thresholds': {'cache': 0.2, 'downgrade': 0.15}}, 'providers': {OK}} | config: degradation.thresholds: cache 0.2 must be below downgrade 0.15
      {'degradation': {'thresholds': {'static': 1.5}}, 'providers': {OK}} | config: degradation.thresholds.static: 1.5 must be a share between 0 (exclusive) and 1
      {'degradation': {'probeShare': '150%'}, 'providers': {OK}}  | config: degradation.probeShare: "150%" must be a share between 0 and 1
      {'degradation': {'downgradeShare': 0}, 'providers': {OK}}   | config: degradation.downgradeShare: 0 must be a share between 0 (exclusive) and 1
      {'degradation': {'window': 60}, 'providers': {OK}}          | config: degradation.window: 60 must be a positive duration
      {'degradation': {'minEvidenceTime': 5}, 'providers': {OK}}  | config: degradation.minEvidenceTime: 5 must be a positive duration
      {'degradation': {'recoveryWindow': '500ms'}, 'providers': {OK}} | config: degradation.recoveryWindow: PT0.5S is below 1 s (the window counts requests per second; use at least 1s, default 5s)
      {'degradation': {'staticReply': {'status': 'degraded'}}, 'providers': {OK}} | config: degradation.staticReply: {"status":"degraded"} must be a message string or an object with a "message" string
      {'degradation': {'mode': 'x'}, 'providers': {OK}}           | config: degradation.mode: unknown key (known: enabled, scope, window
      {'cache': {'freshTtl': '20m'}, 'providers': {OK}}           | config: cache.freshTtl
      {'cache': {'maxBytes': -1}, 'providers': {OK}}              | config: cache.maxBytes: -1 must be a positive integer (bytes)
      {'limits': {'perTenant': {'requestsPerMinute': -5}}, 'providers': {OK}} | config: limits.perTenant.requestsPerMinute: -5 must be a whole number ≥ 0 (0 = no limit)
      {'limits': {'perTenant': {'rpm': 5}}, 'providers': {OK}}    | config: limits.perTenant.rpm: unknown key (known: requestsPerMinute, tokensPerMinute, concurrent)
      {'limits': {'overMaxTokens': 'truncate'}, 'providers': {OK}} | config: limits.overMaxTokens: "truncate" must be "reject" (400 when max_tokens is above the model's maxTokens) or "cap"
      """)
  void rejectsABadValueNamingItsKeyPathTheValueAndTheFix(String config, String expected) {
    assertThat(problems(config.replace("OK", OK_PROVIDER)))
        .as("problems of %s", config)
        .anySatisfy(p -> assertThat(p).startsWith(expected));
  }
}
