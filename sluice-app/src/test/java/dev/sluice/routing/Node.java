package dev.sluice.routing;

/** Test builder of {@link NodeView}s: an idle, healthy node with neutral telemetry unless told otherwise. */
final class Node {
  private final String id;
  private String gpuType;
  private int inFlightRequests;
  private long inFlightPrefillTokens;
  private int inFlightDecodes;
  private double utilPercent = Double.NaN;
  private double tempCelsius = Double.NaN;
  private double healthRatio = 1;
  private NodeSpeed speed = new NodeSpeed(1_000, 20, 1);
  private long silentMillis;
  private boolean speedGuessed;

  private Node(String id) {
    this.id = id;
  }

  static Node of(String id) {
    return new Node(id);
  }

  /** Simulator profile figures (sim.GpuProfile): A10 4-bit, A100 4-bit, H100 FP8. */
  static Node a10(String id) {
    return of(id).gpu("A10").speed(760, 48);
  }

  static Node a100(String id) {
    return of(id).gpu("A100").speed(2_400, 19);
  }

  static Node h100(String id) {
    return of(id).gpu("H100").speed(12_000, 15);
  }

  Node gpu(String type) {
    this.gpuType = type;
    return this;
  }

  Node telemetry(double util, double temp) {
    this.utilPercent = util;
    this.tempCelsius = temp;
    return this;
  }

  Node health(double ratio) {
    this.healthRatio = ratio;
    return this;
  }

  Node inFlight(int requests, long prefillTokens, int decodes) {
    this.inFlightRequests = requests;
    this.inFlightPrefillTokens = prefillTokens;
    this.inFlightDecodes = decodes;
    return this;
  }

  Node speed(double prefillTokensPerSecond, double decodeMillisPerToken) {
    return speed(new NodeSpeed(prefillTokensPerSecond, decodeMillisPerToken, 1));
  }

  Node speed(NodeSpeed speed) {
    this.speed = speed;
    return this;
  }

  /** Throttled: both speeds scaled by {@code factor}, as {@link SpeedEstimator} would report. */
  Node throttled(double factor) {
    return speed(new NodeSpeed(speed.prefillTokensPerSecond() * factor, speed.decodeMillisPerToken() / factor,
        factor));
  }

  /** The node has sent nothing for this long while requests were in flight on it. */
  Node silent(long millis) {
    this.silentMillis = millis;
    return this;
  }

  /** Its speed is a guess: no GPU profile, nothing observed yet. */
  Node guessed() {
    this.speedGuessed = true;
    return this;
  }

  NodeView view() {
    return new NodeView(id, gpuType, inFlightRequests, inFlightPrefillTokens, inFlightDecodes, utilPercent,
        tempCelsius, Double.isNaN(utilPercent) ? -1 : 0, healthRatio, speed, silentMillis, speedGuessed);
  }
}
