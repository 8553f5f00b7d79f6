package dev.sluice.onboard;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Clock;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;

/**
 * Steps 4 and 5 of onboarding: follows one node on the gateway's {@code GET /admin/nodes} (the router's own view)
 * while the gateway probes and warms it up, reporting each state change, until it is READY or the time is up. A
 * gateway that stops answering for a moment (a restart) is polled again; a refused admin token ends the wait at once.
 */
public final class ReadyWatch {
  /** Often enough to show STARTING → WARMING → READY as it happens; a few requests a second cost the gateway nothing. */
  public static final Duration POLL_INTERVAL = Duration.ofMillis(250);

  /** A state change of the node: {@code from} is null for the first state seen. */
  public interface Changes {
    void changed(String from, String to, String reason, Duration elapsed);
  }

  /**
   * How the wait ended.
   *
   * @param state the node's last state seen (null when the gateway never showed the node)
   * @param reason the gateway's reason for that state
   * @param elapsed how long the wait took
   * @param lastError why the last poll failed, when it did (the gateway stopped answering); else null
   */
  public record Outcome(String state, String reason, Duration elapsed, String lastError) {
    public boolean ready() {
      return "READY".equals(state);
    }
  }

  private final AdminClient gateway;
  private final Duration pollInterval;
  private final Clock clock;

  public ReadyWatch(AdminClient gateway) {
    this(gateway, POLL_INTERVAL, Clock.SYSTEM);
  }

  ReadyWatch(AdminClient gateway, Duration pollInterval, Clock clock) {
    this.gateway = Objects.requireNonNull(gateway, "gateway");
    this.pollInterval = Objects.requireNonNull(pollInterval, "pollInterval");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Polls until node {@code id} is READY or {@code timeout} passed. A state held for less than a poll interval may
   * pass unseen; the change is then reported from the state before it.
   *
   * @param knownState the node's state when the wait starts (its registration's), or null when not known yet
   */
  public Outcome await(String id, String knownState, Duration timeout, Changes changes) throws InterruptedException {
    long start = clock.nanos();
    long deadline = start + timeout.toNanos();
    String state = knownState;
    String reason = null;
    String error;
    while (true) {
      try {
        JsonNode node = find(gateway.nodes(), id);
        error = null;
        if (node != null) {
          String now = node.path("state").asText("?");
          reason = node.path("reason").asText("");
          if (!now.equals(state)) changes.changed(state, now, reason, Duration.ofNanos(clock.nanos() - start));
          state = now;
          if (state.equals("READY")) return new Outcome(state, reason, Duration.ofNanos(clock.nanos() - start), null);
        }
      } catch (AdminClient.Unreachable e) {
        error = e.getMessage();
      } catch (IOException e) {
        error = e.toString();
      }
      long left = deadline - clock.nanos();
      if (left <= 0) return new Outcome(state, reason, Duration.ofNanos(clock.nanos() - start), error);
      Thread.sleep(Math.max(1, Math.min(pollInterval.toMillis(), left / 1_000_000)));
    }
  }

  private static JsonNode find(JsonNode adminNodes, String id) {
    for (JsonNode n : adminNodes.path("nodes")) {
      if (id.equals(n.path("id").asText())) return n;
    }
    return null;
  }
}
