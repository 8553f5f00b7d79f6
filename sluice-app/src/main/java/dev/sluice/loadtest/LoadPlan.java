package dev.sluice.loadtest;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * What a bench does. Closed loop: {@code users} concurrent users, each sending its next request when the last one
 * ended, started evenly over {@code rampUp}. Open loop: {@code rate} requests a second whatever the answers do. It stops
 * after {@code requests} requests (0: no limit) or {@code duration} (null: no limit), whichever comes first.
 */
public record LoadPlan(URI url, String token, String model, int users, double rate, Duration rampUp,
    Duration duration, long requests, double streamShare, Duration requestTimeout, Map<String, String> headers,
    Slo slo) {
  /**
   * What counts as goodput: an answer whose first token came within {@code ttft} and whose output tokens came at
   * {@code tpot} each or faster (the routing lab's rule, design/ROUTING.md: 5 s and 200 ms).
   */
  public record Slo(Duration ttft, Duration tpot) {
    public static final Slo DEFAULT = new Slo(Duration.ofSeconds(5), Duration.ofMillis(200));

    public Slo {
      Objects.requireNonNull(ttft, "ttft");
      Objects.requireNonNull(tpot, "tpot");
    }

    /** One line for the report. */
    public String describe() {
      return "TTFT ≤ " + ttft.toMillis() + " ms and time per output token ≤ " + tpot.toMillis() + " ms";
    }
  }

  /** A plan sending no extra headers, judged by {@link Slo#DEFAULT}. */
  public LoadPlan(URI url, String token, String model, int users, double rate, Duration rampUp, Duration duration,
      long requests, double streamShare, Duration requestTimeout) {
    this(url, token, model, users, rate, rampUp, duration, requests, streamShare, requestTimeout, Map.of(),
        Slo.DEFAULT);
  }

  public LoadPlan {
    headers = Map.copyOf(headers);
    Objects.requireNonNull(slo, "slo");
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(rampUp, "rampUp");
    Objects.requireNonNull(requestTimeout, "requestTimeout");
    if (users < 0 || (users == 0) == (rate <= 0)) {
      throw new IllegalArgumentException("say how to load: either --users N (closed loop) or --rate R (open loop)");
    }
    if (requests <= 0 && duration == null) {
      throw new IllegalArgumentException("say when to stop: --requests N or --duration 60s");
    }
    if (streamShare < 0 || streamShare > 1) {
      throw new IllegalArgumentException("--stream-share " + streamShare + " must be between 0 and 1");
    }
  }

  public boolean openLoop() {
    return rate > 0;
  }

  /** One line for the report: what was run. */
  public String describe() {
    String load = openLoop() ? String.format("open loop %.1f req/s", rate)
        : users + " users (ramp-up " + rampUp.toMillis() / 1000.0 + " s)";
    String stop = (requests > 0 ? requests + " requests" : "")
        + (requests > 0 && duration != null ? " or " : "") + (duration != null ? duration.toMillis() / 1000.0 + " s" : "");
    return load + ", " + stop + ", model " + model + ", stream share " + streamShare + ", " + url;
  }
}
