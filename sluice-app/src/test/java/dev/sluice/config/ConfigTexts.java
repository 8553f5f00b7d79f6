package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/** What the config tests share: inline configs in single quotes, the problems a config fails with, fixture files. */
final class ConfigTexts {
  /** A minimal valid provider, spliced into the bad-input cases. */
  static final String OK_PROVIDER = "'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm'}]}";

  private ConfigTexts() {}

  /** Single quotes make the inline cases readable; none of the cases needs an apostrophe. */
  static String json(String singleQuoted) {
    return singleQuoted.replace('\'', '"');
  }

  static List<String> problems(String singleQuoted) {
    return problems(json(singleQuoted), "t");
  }

  static List<String> problems(String json, String source) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse(json, source));
    assertThat(e).as("expected a ConfigException for %s", json).isNotNull();
    return e.problems();
  }

  static String fixture(String name) throws IOException {
    try (InputStream in = ConfigTexts.class.getResourceAsStream("/config/" + name)) {
      return new String(Objects.requireNonNull(in, name).readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static Path resource(String name) throws URISyntaxException {
    return Path.of(Objects.requireNonNull(ConfigTexts.class.getResource("/config/" + name), name).toURI());
  }
}
