package dev.sluice.config;

import dev.sluice.auth.FailureBackoff;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

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
 * @param requestHeadTimeout a connection's first complete request head must arrive within this of its first byte (over
 *     HTTPS, of its handshake); a connection that sends nothing is idle (see keepAliveTimeout)
 * @param keepAliveTimeout a connection with no request in progress is closed this long after its last response ended,
 *     or after it opened when it has sent nothing
 * @param bodyReadTimeout a request's body must arrive within this after its head (408 and close past it)
 * @param maxConnectionsPerClient open connections from one peer address per listener; more are closed at once (0 = no
 *     cap)
 * @param maxUploadBytesInProgress bytes held in bodies still arriving, all tenants (503 past it; 0 = an eighth of the
 *     heap, see {@link dev.sluice.limit.UploadBudget.Limits#resolve})
 * @param maxUploadBytesInProgressPerTenant the same for one tenant (429 past it; 0 = a quarter of the total)
 * @param trustedProxies CIDR ranges of proxies whose {@code X-Real-IP} / {@code X-Forwarded-For} name the client
 *     (empty: the TCP peer is the client)
 * @param failedCredentials the backoff for addresses that keep presenting wrong credentials
 */
public record ServerSettings(String host, int port, long maxBodyBytes, int maxJsonDepth, int maxHeaderBytes,
    CorsSettings cors, TlsSettings tls, Duration requestHeadTimeout, Duration keepAliveTimeout,
    Duration bodyReadTimeout, int maxConnectionsPerClient, long maxUploadBytesInProgress,
    long maxUploadBytesInProgressPerTenant, List<String> trustedProxies,
    FailureBackoff.Settings failedCredentials) {
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
  /** A real client sends its request head in one packet; 10 s covers a slow mobile link and bounds slowloris. */
  public static final Duration DEFAULT_REQUEST_HEAD_TIMEOUT = Duration.ofSeconds(10);
  /** Clients reuse a connection within seconds; a proxy in front closes its idle ones first (nginx in deploy/: 50 s). */
  public static final Duration DEFAULT_KEEP_ALIVE_TIMEOUT = Duration.ofSeconds(60);
  /** A 10 MiB body (the default maxBodyBytes) arrives in time at 1.4 Mbit/s; chat prompts come in one round trip. */
  public static final Duration DEFAULT_BODY_READ_TIMEOUT = Duration.ofSeconds(60);
  /** Off: behind a proxy or NAT every client shares one address, so a cap would cut them all. */
  public static final int DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 0;
  /** Not configured: derived from the JVM's max heap when the gateway runs (UploadBudget.Limits.resolve). */
  public static final long DERIVED_FROM_HEAP = 0;

  public ServerSettings {
    Objects.requireNonNull(cors, "cors");
    Objects.requireNonNull(requestHeadTimeout, "requestHeadTimeout");
    Objects.requireNonNull(keepAliveTimeout, "keepAliveTimeout");
    Objects.requireNonNull(bodyReadTimeout, "bodyReadTimeout");
    trustedProxies = trustedProxies == null ? List.of() : List.copyOf(trustedProxies);
    if (failedCredentials == null) failedCredentials = FailureBackoff.Settings.defaults();
  }

  /** Default deadlines, connection cap and upload caps; no trusted proxies, the default backoff for failed credentials. */
  public ServerSettings(String host, int port, long maxBodyBytes, int maxJsonDepth, int maxHeaderBytes,
      CorsSettings cors, TlsSettings tls) {
    this(host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, DEFAULT_REQUEST_HEAD_TIMEOUT,
        DEFAULT_KEEP_ALIVE_TIMEOUT, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS_PER_CLIENT, DERIVED_FROM_HEAP,
        DERIVED_FROM_HEAP, null, null);
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
    return new ServerSettings(host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, requestHeadTimeout,
        keepAliveTimeout, bodyReadTimeout, maxConnectionsPerClient, maxUploadBytesInProgress,
        maxUploadBytesInProgressPerTenant,
        trustedProxies, failedCredentials);
  }

  /** These settings with {@code proxies} as {@link #trustedProxies}. */
  public ServerSettings withTrustedProxies(List<String> proxies) {
    return new ServerSettings(host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, requestHeadTimeout,
        keepAliveTimeout, bodyReadTimeout, maxConnectionsPerClient, maxUploadBytesInProgress,
        maxUploadBytesInProgressPerTenant,
        proxies, failedCredentials);
  }

  /** These settings with another backoff for failed credentials ({@code Settings.off()} for none). */
  public ServerSettings withFailedCredentials(FailureBackoff.Settings settings) {
    return new ServerSettings(host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, requestHeadTimeout,
        keepAliveTimeout, bodyReadTimeout, maxConnectionsPerClient, maxUploadBytesInProgress,
        maxUploadBytesInProgressPerTenant,
        trustedProxies, settings);
  }

  /** These settings with other connection deadlines and per-client cap (0 = no cap). */
  public ServerSettings withDeadlines(Duration requestHeadTimeout, Duration keepAliveTimeout,
      Duration bodyReadTimeout, int maxConnectionsPerClient) {
    return new ServerSettings(host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, requestHeadTimeout,
        keepAliveTimeout, bodyReadTimeout, maxConnectionsPerClient, maxUploadBytesInProgress,
        maxUploadBytesInProgressPerTenant,
        trustedProxies, failedCredentials);
  }

  /** These settings with other caps on bytes held in unfinished uploads (0 = derived from the heap). */
  public ServerSettings withUploadCaps(long maxUploadBytesInProgress, long maxUploadBytesInProgressPerTenant) {
    return new ServerSettings(host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, requestHeadTimeout,
        keepAliveTimeout, bodyReadTimeout, maxConnectionsPerClient, maxUploadBytesInProgress,
        maxUploadBytesInProgressPerTenant,
        trustedProxies, failedCredentials);
  }

  public static ServerSettings defaults() {
    return new ServerSettings(DEFAULT_HOST, DEFAULT_PORT, DEFAULT_MAX_BODY_BYTES);
  }
}
