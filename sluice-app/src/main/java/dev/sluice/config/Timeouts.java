package dev.sluice.config;

import dev.sluice.routing.FirstTokenDeadline;
import dev.sluice.routing.StreamDeadlines;
import java.time.Duration;
import java.util.Map;

/**
 * The upstream clocks of one request.
 *
 * @param connect TCP connect to a node
 * @param firstToken the longest wait from sending the request to the first response body byte, per attempt: the
 *     ceiling of the derived deadline ({@link FirstTokenDeadline})
 * @param idle longest silence between two chunks once the response has started
 * @param total whole request including all attempts and the full stream
 * @param firstTokenFactor an attempt's first-token deadline is this multiple of the node's own estimate
 * @param firstTokenFloor the shortest first-token deadline
 * @param models per-model stream deadlines ({@code timeouts.models}) overriding {@code idle} and {@code total}
 */
public record Timeouts(Duration connect, Duration firstToken, Duration idle, Duration total, double firstTokenFactor,
    Duration firstTokenFloor, Map<String, StreamDeadlines> models) {
  /** Connect: nodes sit on the same LAN; 2 s covers a SYN retry, longer means the node is gone. */
  public static final Duration DEFAULT_CONNECT = Duration.ofSeconds(2);
  /** First token: the brief measured > 8 s on a cold A10 with a 16K prompt; 60 s leaves room for long prefill. */
  public static final Duration DEFAULT_FIRST_TOKEN = Duration.ofSeconds(60);
  /** Idle: see {@link StreamDeadlines#DEFAULT_IDLE}. */
  public static final Duration DEFAULT_IDLE = StreamDeadlines.DEFAULT_IDLE;
  /** Total: see {@link StreamDeadlines#DEFAULT_TOTAL}. */
  public static final Duration DEFAULT_TOTAL = StreamDeadlines.DEFAULT_TOTAL;

  public Timeouts {
    models = models == null ? Map.of() : Map.copyOf(models);
  }

  /** The clocks without per-model stream deadlines. */
  public Timeouts(Duration connect, Duration firstToken, Duration idle, Duration total, double firstTokenFactor,
      Duration firstTokenFloor) {
    this(connect, firstToken, idle, total, firstTokenFactor, firstTokenFloor, Map.of());
  }

  /** The four clocks with the default first-token rule (factor and floor). */
  public Timeouts(Duration connect, Duration firstToken, Duration idle, Duration total) {
    this(connect, firstToken, idle, total, FirstTokenDeadline.DEFAULT_FACTOR,
        firstTokenFloor(FirstTokenDeadline.DEFAULT_FLOOR, firstToken));
  }

  /** The first-token deadline rule these timeouts give; validates factor, floor and ceiling. */
  public FirstTokenDeadline firstTokenDeadline() {
    return new FirstTokenDeadline(firstTokenFactor, firstTokenFloor, firstToken);
  }

  /** The idle and total deadlines of {@code model}'s streams: its {@code timeouts.models} entry, else the defaults. */
  public StreamDeadlines streams(String model) {
    StreamDeadlines own = model == null ? null : models.get(model);
    return own != null ? own : new StreamDeadlines(idle, total);
  }

  /** These timeouts with per-model stream deadlines. */
  public Timeouts withModels(Map<String, StreamDeadlines> perModel) {
    return new Timeouts(connect, firstToken, idle, total, firstTokenFactor, firstTokenFloor, perModel);
  }

  /** The default floor, or the ceiling when that is shorter (a test or an operator chose a short firstToken). */
  private static Duration firstTokenFloor(Duration floor, Duration ceiling) {
    return ceiling != null && ceiling.compareTo(floor) < 0 ? ceiling : floor;
  }

  public static Timeouts defaults() {
    return new Timeouts(DEFAULT_CONNECT, DEFAULT_FIRST_TOKEN, DEFAULT_IDLE, DEFAULT_TOTAL);
  }
}
