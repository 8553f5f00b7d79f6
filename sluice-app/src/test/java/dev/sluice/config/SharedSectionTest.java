package dev.sluice.config;

import static dev.sluice.config.ConfigTexts.OK_PROVIDER;
import static dev.sluice.config.ConfigTexts.json;
import static dev.sluice.config.ConfigTexts.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code shared} section (Redis). */
class SharedSectionTest {
  @Test
  void readsTheSharedSectionAndKeepsEverythingLocalWithoutIt() throws Exception {
    SluiceConfig c = ConfigLoader.parse(json("""
        {'shared': {'redis': 'redis://:s3cret@10.0.0.7:6380/2', 'limits': true, 'cache': false,
          'keyPrefix': 'sluice:prod:', 'timeout': '50ms'},
         'providers': {OK}}""".replace("OK", OK_PROVIDER)), "shared.json");
    SharedSettings s = c.shared();
    assertThat(s.redis()).isEqualTo(URI.create("redis://:s3cret@10.0.0.7:6380/2"));
    assertThat(s.sharesLimits()).isTrue();
    assertThat(s.sharesCache()).isFalse();
    assertThat(s.keyPrefix()).isEqualTo("sluice:prod:");
    assertThat(s.timeout()).isEqualTo(Duration.ofMillis(50));
    assertThat(s.redisAddress()).isEqualTo("10.0.0.7:6380");
    assertThat(s.toString()).as("the password never reaches a log line").doesNotContain("s3cret");

    SharedSettings defaults = ConfigLoader.parse(json("{'shared': {'redis': 'redis://127.0.0.1'}, 'providers': {OK}}"
        .replace("OK", OK_PROVIDER)), "d.json").shared();
    assertThat(defaults.sharesLimits()).isTrue();
    assertThat(defaults.sharesCache()).isTrue();
    assertThat(defaults.redisPort()).isEqualTo(SharedSettings.DEFAULT_REDIS_PORT);
    assertThat(defaults.keyPrefix()).isEqualTo(SharedSettings.DEFAULT_KEY_PREFIX);
    assertThat(defaults.timeout()).isEqualTo(SharedSettings.DEFAULT_TIMEOUT);

    SluiceConfig local = ConfigLoader.parse(json("{'providers': {OK}}".replace("OK", OK_PROVIDER)), "l.json");
    assertThat(local.shared().enabled()).isFalse();
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {'shared': {'redis': 'http://h:6379'}, 'providers': {OK}}   | config: shared.redis: not a Redis URL (expected redis://host:port)
      {'shared': {'redis': 'localhost:6379'}, 'providers': {OK}}  | config: shared.redis: not a Redis URL (expected redis://host:port)
      {'shared': {'redis': 6379}, 'providers': {OK}}              | config: shared.redis: 6379 is not a Redis URL (expected redis://host:port)
      {'shared': {'redis': 'rediss://h:6380'}, 'providers': {OK}} | config: shared.redis: TLS to Redis (rediss://) is not supported yet
      {'shared': {'redis': 'redis://h:6379/cache'}, 'providers': {OK}} | config: shared.redis: path "/cache" must be a database number like /0
      {'shared': {'limits': true}, 'providers': {OK}}             | config: shared.redis: missing; shared.limits and shared.cache need a Redis URL (redis://host:port)
      {'shared': {'redis': 'redis://h:6379', 'keyPrefix': 'my app'}, 'providers': {OK}} | config: shared.keyPrefix: "my app" must be at most 64 printable ASCII characters without spaces
      {'shared': {'redis': 'redis://h:6379', 'timeout': '0ms'}, 'providers': {OK}} | config: shared.timeout: "0ms" must be a positive duration
      {'shared': {'redis': 'redis://h:6379', 'limit': true}, 'providers': {OK}} | config: shared.limit: unknown key (known: redis, limits, cache, keyPrefix, timeout)
      {'shared': {'redis': 'redis://h:6379', 'cache': 'yes'}, 'providers': {OK}} | config: shared.cache: "yes" must be true or false
      """)
  void rejectsABadValueNamingItsKeyPathTheValueAndTheFix(String config, String expected) {
    assertThat(problems(config.replace("OK", OK_PROVIDER)))
        .as("problems of %s", config)
        .anySatisfy(p -> assertThat(p).startsWith(expected));
  }
}
