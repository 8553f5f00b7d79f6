package dev.sluice.sim;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Settings of a {@link SimNode}; start from {@link #defaults()} and change fields with the withers.
 *
 * @param id node name in logs and {@code /sim/stats}; {@code null} means {@code sim-<port>}
 * @param host interface to listen on
 * @param port port to listen on, 0 for a free one
 * @param gpu timing profile
 * @param models model names the node serves (Ollama-style {@code name:tag})
 * @param timeScale speed-up over the real GPU: 1 is real speed, 10 is ten times faster, 0 is instant (no timers)
 * @param seed seed of the generated text and output lengths
 * @param embeddingDimensions length of embedding vectors
 * @param writeSplitBytes when positive, every response event is written in pieces of this many bytes
 * @param overrides engine figures that replace the GPU profile's defaults, by name (see the engine's profile)
 * @param tlsCert PEM certificate chain: when set (with {@code tlsKey}) the node listens with HTTPS; null = plain HTTP
 * @param tlsKey PEM private key of {@code tlsCert}
 * @param dialects the APIs the node speaks, of {@link #DIALECTS}; a request to another one's paths gets 404, as from
 *     a server without it (default: all)
 */
public record SimOptions(
    String id,
    String host,
    int port,
    GpuProfile gpu,
    List<String> models,
    double timeScale,
    long seed,
    int embeddingDimensions,
    int writeSplitBytes,
    Map<String, Double> overrides,
    Path tlsCert,
    Path tlsKey,
    Set<String> dialects) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final String DEFAULT_MODEL = "qwen3:32b";
  public static final long DEFAULT_SEED = 42;
  /** The embedding size of common Ollama embedding models (nomic-embed-text). */
  public static final int DEFAULT_EMBEDDING_DIMENSIONS = 768;
  /**
   * Every dialect: {@code ollama} ({@code /api/*}, {@code GET /}), {@code openai} (chat, completions, embeddings,
   * models under {@code /v1}), {@code anthropic} ({@code /v1/messages}), {@code responses} ({@code /v1/responses}).
   */
  public static final Set<String> DIALECTS = Set.of("ollama", "openai", "anthropic", "responses");

  public SimOptions {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(gpu, "gpu");
    models = List.copyOf(Objects.requireNonNull(models, "models"));
    if (models.isEmpty()) {
      throw new IllegalArgumentException("models: empty (expected at least one model name, e.g. qwen3:32b)");
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port: " + port + " is out of range (expected 0-65535, 0 for a free port)");
    }
    if (!(timeScale >= 0) || Double.isInfinite(timeScale)) {
      throw new IllegalArgumentException("timeScale: " + timeScale + " (expected >= 0; 1 = real speed, 0 = instant)");
    }
    if (embeddingDimensions < 1) {
      throw new IllegalArgumentException("embeddingDimensions: " + embeddingDimensions + " (expected >= 1)");
    }
    overrides = overrides == null ? Map.of() : Map.copyOf(overrides);
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new IllegalArgumentException("tls: give both the certificate and the key (--tls-cert and --tls-key), "
          + "or neither for plain HTTP");
    }
    if (writeSplitBytes < 0) {
      throw new IllegalArgumentException("writeSplitBytes: " + writeSplitBytes + " (expected >= 0, 0 = off)");
    }
    dialects = dialects == null ? DIALECTS : Set.copyOf(dialects);
    if (dialects.isEmpty() || !DIALECTS.containsAll(dialects)) {
      throw new IllegalArgumentException("dialects: " + new TreeSet<>(dialects) + " (expected a non-empty list of "
          + new TreeSet<>(DIALECTS) + ")");
    }
  }

  /** Every dialect. */
  public SimOptions(String id, String host, int port, GpuProfile gpu, List<String> models, double timeScale, long seed,
      int embeddingDimensions, int writeSplitBytes, Map<String, Double> overrides, Path tlsCert, Path tlsKey) {
    this(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides, tlsCert,
        tlsKey, DIALECTS);
  }

  /** Plain HTTP. */
  public SimOptions(String id, String host, int port, GpuProfile gpu, List<String> models, double timeScale, long seed,
      int embeddingDimensions, int writeSplitBytes, Map<String, Double> overrides) {
    this(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides, null, null);
  }

  /** Whether the node listens with HTTPS. */
  public boolean tls() {
    return tlsCert != null;
  }

  /** The node over HTTPS with this PEM certificate chain and key (see docs/tls.md). */
  public SimOptions withTls(Path cert, Path key) {
    return new SimOptions(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides,
        cert, key, dialects);
  }

  /** An A10 node serving qwen3:32b at real speed on a free port of 127.0.0.1. */
  public static SimOptions defaults() {
    return new SimOptions(null, DEFAULT_HOST, 0, GpuProfile.A10, List.of(DEFAULT_MODEL), 1.0, DEFAULT_SEED,
        DEFAULT_EMBEDDING_DIMENSIONS, 0, Map.of());
  }

  /** The node speaking only these dialects (of {@link #DIALECTS}). */
  public SimOptions withDialects(String... dialects) {
    return new SimOptions(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides,
        tlsCert, tlsKey, Set.of(dialects));
  }

  public SimOptions withId(String id) {
    return new SimOptions(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides,
        tlsCert, tlsKey, dialects);
  }

  public SimOptions withHost(String host) {
    return new SimOptions(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides,
        tlsCert, tlsKey, dialects);
  }

  public SimOptions withPort(int port) {
    return new SimOptions(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides,
        tlsCert, tlsKey, dialects);
  }

  public SimOptions withGpu(GpuProfile gpu) {
    return new SimOptions(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides,
        tlsCert, tlsKey, dialects);
  }

  public SimOptions withModels(String... models) {
    return new SimOptions(id, host, port, gpu, List.of(models), timeScale, seed, embeddingDimensions,
        writeSplitBytes, overrides, tlsCert, tlsKey, dialects);
  }

  public SimOptions withTimeScale(double timeScale) {
    return new SimOptions(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides,
        tlsCert, tlsKey, dialects);
  }

  public SimOptions withSeed(long seed) {
    return new SimOptions(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides,
        tlsCert, tlsKey, dialects);
  }

  public SimOptions withEmbeddingDimensions(int embeddingDimensions) {
    return new SimOptions(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides,
        tlsCert, tlsKey, dialects);
  }

  public SimOptions withWriteSplitBytes(int writeSplitBytes) {
    return new SimOptions(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides,
        tlsCert, tlsKey, dialects);
  }

  public SimOptions withOverrides(Map<String, Double> overrides) {
    return new SimOptions(id, host, port, gpu, models, timeScale, seed, embeddingDimensions, writeSplitBytes, overrides,
        tlsCert, tlsKey, dialects);
  }
}
