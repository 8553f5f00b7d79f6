package dev.sluice.routing;

import java.time.Duration;

/**
 * How long a stream that has started may run on its model's nodes: at most {@code idle} of silence between two chunks
 * and at most {@code total} from the request's arrival to its last byte. A stream silent for {@code idle} is abandoned
 * on its node (the node has stalled) and, where the stream can be continued, continued on another node; a stream past
 * {@code total} ends. The first token has its own deadline ({@link FirstTokenDeadline}).
 *
 * <p>Why per model: agents stream for minutes (a long total) and want a stalled node left quickly (a short idle); a
 * batch model may want the reverse. {@code timeouts.idle} and {@code timeouts.total} are the defaults,
 * {@code timeouts.models.{model}} overrides them for one model.
 *
 * @param idle the longest silence between two chunks once a stream has started
 * @param total the longest a request may take, every attempt and continuation included
 */
public record StreamDeadlines(Duration idle, Duration total) {
  /** Idle: a decoding node emits a token every 15–60 ms; 30 s of silence means a stalled engine. */
  public static final Duration DEFAULT_IDLE = Duration.ofSeconds(30);
  /** Total: 4,096 output tokens at 60 ms each is ~4 min; 10 min bounds runaway generations. */
  public static final Duration DEFAULT_TOTAL = Duration.ofMinutes(10);

  public StreamDeadlines {
    if (idle == null || idle.isNegative() || idle.isZero()) {
      throw new IllegalArgumentException("idle: " + idle + " (expected a positive duration, default "
          + DEFAULT_IDLE.toSeconds() + "s)");
    }
    if (total == null || total.isNegative() || total.isZero()) {
      throw new IllegalArgumentException("total: " + total + " (expected a positive duration, default "
          + DEFAULT_TOTAL.toMinutes() + "m)");
    }
  }

  /** {@code "idle timeout 5000 ms"}: why a stream was abandoned, for logs and errors. */
  public String describeIdle() {
    return idle.toMillis() + " ms (idle timeout)";
  }
}
