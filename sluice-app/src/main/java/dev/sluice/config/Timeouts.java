package dev.sluice.config;

import java.time.Duration;

/**
 * The upstream clocks of one request.
 *
 * @param connect TCP connect to a node
 * @param firstToken from sending the request to the first response body byte, per attempt
 * @param idle longest silence between two chunks once the response has started
 * @param total whole request including all attempts and the full stream
 */
public record Timeouts(Duration connect, Duration firstToken, Duration idle, Duration total) {
  /** Connect: nodes sit on the same LAN; 2 s covers a SYN retry, longer means the node is gone. */
  public static final Duration DEFAULT_CONNECT = Duration.ofSeconds(2);
  /** First token: the brief measured > 8 s on a cold A10 with a 16K prompt; 60 s leaves room for long prefill. */
  public static final Duration DEFAULT_FIRST_TOKEN = Duration.ofSeconds(60);
  /** Idle: a decoding node emits a token every 15-60 ms; 30 s of silence means a stalled engine. */
  public static final Duration DEFAULT_IDLE = Duration.ofSeconds(30);
  /** Total: 4,096 output tokens at 60 ms each is ~4 min; 10 min bounds runaway generations. */
  public static final Duration DEFAULT_TOTAL = Duration.ofMinutes(10);

  public static Timeouts defaults() {
    return new Timeouts(DEFAULT_CONNECT, DEFAULT_FIRST_TOKEN, DEFAULT_IDLE, DEFAULT_TOTAL);
  }
}
