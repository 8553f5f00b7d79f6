package dev.sluice.sim;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a node reports about a model it serves, derived from its Ollama-style name: {@code qwen3:32b} is family
 * {@code qwen3}, 32B parameters, about 0.6 bytes per parameter on disk (Q4_K_M).
 */
record SimModel(String name, String family, String parameterSize, long parameterCount, long sizeBytes,
    String digest, int contextLengthTokens) {

  /** The native context window reported by {@code /api/show} (Qwen3's). */
  static final int MODEL_CONTEXT_TOKENS = EngineProfile.MODEL_CONTEXT_TOKENS;
  private static final double BYTES_PER_PARAMETER_Q4_K_M = 0.6;
  private static final double DEFAULT_PARAMETERS_BILLIONS = 7;
  private static final Pattern PARAMETERS = Pattern.compile("(\\d+(?:\\.\\d+)?)b", Pattern.CASE_INSENSITIVE);

  /** The model as a node with {@code gpu}'s default figures serves it. */
  static SimModel of(String name, GpuProfile gpu) {
    return of(name, EngineProfile.of(gpu));
  }

  /** The model as a node with {@code engine} serves it: the context window is the engine's max model length. */
  static SimModel of(String name, EngineProfile engine) {
    int colon = name.indexOf(':');
    String base = colon < 0 ? name : name.substring(0, colon);
    String tag = colon < 0 ? "" : name.substring(colon + 1);
    int dot = base.indexOf('.');
    String family = (dot < 0 ? base : base.substring(0, dot)).toLowerCase(Locale.ROOT);
    Matcher matcher = PARAMETERS.matcher(tag);
    double billions = matcher.lookingAt() ? Double.parseDouble(matcher.group(1)) : DEFAULT_PARAMETERS_BILLIONS;
    long parameters = Math.round(billions * 1e9);
    return new SimModel(name, family, matcher.lookingAt() ? matcher.group(1) + "B" : "7B", parameters,
        Math.round(parameters * BYTES_PER_PARAMETER_Q4_K_M), sha256(name),
        engine.maxModelLenTokens());
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
