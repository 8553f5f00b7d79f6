package dev.sluice.config;

/**
 * The listener and request limits.
 *
 * @param host bind address
 * @param port TCP port (0 = any free port)
 * @param maxBodyBytes largest request body accepted (413 above)
 * @param maxJsonDepth deepest nesting of a request body's JSON (400 above)
 * @param maxHeaderBytes largest request header block (431 above); read when the listener starts
 * @param cors which browser origins may call the API
 * @param tls HTTPS listener settings; null = plain HTTP; read when the listener starts
 * @param trustedProxies CIDR ranges of proxies whose {@code X-Real-IP} / {@code X-Forwarded-For} name the client
 *     (empty: the TCP peer is the client)
 * @param failedCredentials the backoff for addresses that keep presenting wrong credentials
 */
public record ServerSettings(String host, int port, long maxBodyBytes, int maxJsonDepth, int maxHeaderBytes,
    CorsSettings cors, TlsSettings tls, java.util.List<String> trustedProxies,
    dev.sluice.auth.FailureBackoff.Settings failedCredentials) {
  public static final String DEFAULT_HOST = "0.0.0.0";
  public static final int DEFAULT_PORT = 8080;
  /** 10 MiB: a 128K-token prompt is ~512 KiB of text; images as base64 stay well below this. */
  public static final long DEFAULT_MAX_BODY_BYTES = 10L * 1024 * 1024;
  /** Chat requests nest 5–8 levels (tools with JSON schemas a few more); 64 leaves room and stops stack-depth games. */
  public static final int DEFAULT_MAX_JSON_DEPTH = 64;
  /** Above any real client's headers (a JWT is ~1–2 KiB) and small enough that header floods cost little. */
  public static final int DEFAULT_MAX_HEADER_BYTES = 16384;
  /** The range accepted for maxJsonDepth: below 8 real chat requests with tools fail; above 1000 risks the stack. */
  public static final int MIN_JSON_DEPTH = 8;
  public static final int MAX_JSON_DEPTH = 1000;

  public ServerSettings {
    java.util.Objects.requireNonNull(cors, "cors");
    trustedProxies = trustedProxies == null ? java.util.List.of() : java.util.List.copyOf(trustedProxies);
    if (failedCredentials == null) failedCredentials = dev.sluice.auth.FailureBackoff.Settings.defaults();
  }

  /** No trusted proxies, the default backoff for failed credentials. */
  public ServerSettings(String host, int port, long maxBodyBytes, int maxJsonDepth, int maxHeaderBytes,
      CorsSettings cors, TlsSettings tls) {
    this(host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, null, null);
  }

  /** Plain HTTP. */
  public ServerSettings(String host, int port, long maxBodyBytes, int maxJsonDepth, int maxHeaderBytes,
      CorsSettings cors) {
    this(host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, null);
  }

  public ServerSettings(String host, int port, long maxBodyBytes, int maxJsonDepth, int maxHeaderBytes) {
    this(host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, CorsSettings.none());
  }

  public ServerSettings(String host, int port, long maxBodyBytes) {
    this(host, port, maxBodyBytes, DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_HEADER_BYTES);
  }

  /** These settings served over HTTPS with {@code tls} (null = plain HTTP). */
  public ServerSettings withTls(TlsSettings tls) {
    return new ServerSettings(host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, trustedProxies,
        failedCredentials);
  }

  /** These settings with {@code proxies} as {@link #trustedProxies}. */
  public ServerSettings withTrustedProxies(java.util.List<String> proxies) {
    return new ServerSettings(host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, proxies,
        failedCredentials);
  }

  /** These settings with another backoff for failed credentials ({@code Settings.off()} for none). */
  public ServerSettings withFailedCredentials(dev.sluice.auth.FailureBackoff.Settings settings) {
    return new ServerSettings(host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, trustedProxies,
        settings);
  }

  public static ServerSettings defaults() {
    return new ServerSettings(DEFAULT_HOST, DEFAULT_PORT, DEFAULT_MAX_BODY_BYTES);
  }
}
