package dev.sluice.config;

/**
 * The listener and request limits.
 *
 * @param host bind address
 * @param port TCP port (0 = any free port)
 * @param maxBodyBytes largest request body accepted (413 above)
 */
public record ServerSettings(String host, int port, long maxBodyBytes) {
  public static final String DEFAULT_HOST = "0.0.0.0";
  public static final int DEFAULT_PORT = 8080;
  /** 10 MiB: a 128K-token prompt is ~512 KiB of text; images as base64 stay well below this. */
  public static final long DEFAULT_MAX_BODY_BYTES = 10L * 1024 * 1024;

  public static ServerSettings defaults() {
    return new ServerSettings(DEFAULT_HOST, DEFAULT_PORT, DEFAULT_MAX_BODY_BYTES);
  }
}
