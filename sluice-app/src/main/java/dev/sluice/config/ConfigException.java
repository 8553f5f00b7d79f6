package dev.sluice.config;

import java.util.List;

/** A config that cannot be used. Each problem names the key, the bad value and the fix. */
public final class ConfigException extends Exception {
  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super(String.join("\n", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
