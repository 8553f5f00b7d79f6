package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A misbehaviour of a node. Per-request kinds ({@link Kind#persistent()} false) apply to the next {@code count}
 * generation requests (they queue FIFO); node-level kinds stay on until cleared ({@code DELETE /sim/faults}). Build
 * one with the static factories, {@link #parse(String)} (CLI: {@code error-rate:percent=20,status=503}) or
 * {@link #fromJson(JsonNode)} ({@code POST /sim/faults}); {@link Kind#wireName()} is the {@code kind} on the wire.
 * {@code docs/simulator.md} lists every kind with its parameters.
 *
 * @param kind what goes wrong
 * @param count how many generation requests a per-request fault applies to (1 for node-level kinds)
 * @param afterTokens tokens (stream chunks) sent before a reset or stall (0 for the other kinds)
 * @param status HTTP status of a {@link Kind#STATUS} or {@link Kind#ERROR_RATE} fault (0 otherwise)
 * @param body response body of a {@link Kind#STATUS} fault ({@code null} otherwise)
 * @param percent share of generation requests an {@link Kind#ERROR_RATE} fault fails, 0-100 (0 otherwise)
 * @param factor slow-down of a {@link Kind#SLOW} fault, {@code > 1} (1 otherwise)
 * @param model the model a {@link Kind#WRONG_MODEL} node serves instead of its own ({@code null} otherwise)
 */
public record SimFault(Kind kind, int count, int afterTokens, int status, String body, double percent,
    double factor, String model) {

  /** What goes wrong. */
  public enum Kind {
    /** Read the request, then close the connection without sending a byte: a node killed before its first byte. */
    RESET_BEFORE_FIRST_BYTE("reset-before-first-byte", false),
    /** Accept the request and never answer, until the client leaves. */
    HANG_BEFORE_FIRST_BYTE("hang-before-first-byte", false),
    /** Answer with a fixed status and body, e.g. Ollama's 503 when its queue is full. */
    STATUS("status", false),
    /** Stream some tokens, then close the connection. */
    RESET_AFTER_TOKENS("reset-after-tokens", false),
    /** Stream some tokens, then go silent until the client leaves. */
    STALL_AFTER_TOKENS("stall-after-tokens", false),
    /** Stop listening: connections are refused until cleared, then the node listens again on the same port. */
    REFUSE_CONNECTIONS("refuse-connections", true),
    /** Accept connections and requests but never answer anything, {@code /health} included. */
    BLACK_HOLE("black-hole", true),
    /** Health, tags and version answer 200; no generation ever starts (the engine is stuck). */
    HUNG_ENGINE("hung-engine", true),
    /** Fail {@code percent} % of generation requests with {@code status} (500, 503 or 429), seeded. */
    ERROR_RATE("error-rate", true),
    /** Every stream is reset after {@code chunks} token chunks. */
    DIE_AFTER_CHUNKS("die-after-chunks", true),
    /** Every stream goes silent after {@code chunks} token chunks. */
    STALL("stall", true),
    /** The engine runs {@code factor} times slower. */
    SLOW("slow", true),
    /** Thermal throttling: speed x0.55, 88-90 °C, sw_thermal clock events, thermal violation time grows. */
    THERMAL_THROTTLE("thermal-throttle", true),
    /** Hot (85 °C) but unthrottled: full speed, no clock events. */
    HOT_BUT_HEALTHY("hot-but-healthy", true),
    /** The model is partly offloaded to the CPU: {@code size_vram < size}, speed x0.2. */
    CPU_OFFLOAD("cpu-offload", true),
    /** The node serves another model ({@code model}, default llama3:8b) instead of its own. */
    WRONG_MODEL("wrong-model", true);

    private final String wireName;
    private final boolean persistent;

    Kind(String wireName, boolean persistent) {
      this.wireName = wireName;
      this.persistent = persistent;
    }

    /** The name used by {@code POST /sim/faults}, {@code --fault} and cluster files. */
    public String wireName() {
      return wireName;
    }

    /** Whether the fault is node-level (on until cleared) rather than applied to the next requests. */
    public boolean persistent() {
      return persistent;
    }

    /** The kind named {@code wireName}, or an error listing the valid names. */
    public static Kind fromWireName(String wireName) {
      for (Kind kind : values()) {
        if (kind.wireName.equals(wireName)) {
          return kind;
        }
      }
      throw new IllegalArgumentException("kind: \"" + wireName + "\" is not a fault kind (expected one of "
          + Arrays.stream(values()).map(Kind::wireName).collect(Collectors.joining(", ")) + ")");
    }
  }

  /** Ollama's answer when its request queue is full. */
  public static final String OLLAMA_BUSY_BODY =
      "{\"error\":\"server busy, please try again.  maximum pending requests exceeded\"}";
  /** The model a {@link Kind#WRONG_MODEL} node serves unless told otherwise. */
  public static final String DEFAULT_WRONG_MODEL = "llama3:8b";
  /** Thermal throttling's speed factor (UPSTREAMS.md: x0.55). */
  public static final double THERMAL_THROTTLE_SPEED = 0.55;
  /** CPU offload's speed factor: 5x slower. */
  public static final double CPU_OFFLOAD_SPEED = 0.2;

  public SimFault {
    Objects.requireNonNull(kind, "kind");
    if (count < 1) {
      throw new IllegalArgumentException("count: " + count + " (expected >= 1 requests)");
    }
    if (afterTokens < 0) {
      throw new IllegalArgumentException("afterTokens: " + afterTokens + " (expected >= 0)");
    }
    if (kind == Kind.STATUS && (status < 100 || status > 599 || body == null)) {
      throw new IllegalArgumentException("status fault: status " + status + " and body " + body
          + " (expected a status 100-599 and a body)");
    }
    if (kind == Kind.ERROR_RATE && status != 500 && status != 503 && status != 429) {
      throw new IllegalArgumentException("error-rate: status " + status + " (expected 500, 503 or 429)");
    }
    if (kind == Kind.ERROR_RATE && !(percent >= 0 && percent <= 100)) {
      throw new IllegalArgumentException("error-rate: percent " + percent + " (expected 0-100)");
    }
    if (kind == Kind.SLOW && !(factor >= 1) || Double.isInfinite(factor)) {
      throw new IllegalArgumentException("slow: factor " + factor + " (expected >= 1; 2 = half speed)");
    }
    if (kind == Kind.WRONG_MODEL && (model == null || model.isBlank())) {
      throw new IllegalArgumentException("wrong-model: model is empty (expected a model name, e.g. llama3:8b)");
    }
  }

  /** A fault without the node-level parameters (percent 0, factor 1, no model). */
  public SimFault(Kind kind, int count, int afterTokens, int status, String body) {
    this(kind, count, afterTokens, status, body, 0, 1, null);
  }

  public static SimFault resetBeforeFirstByte(int count) {
    return new SimFault(Kind.RESET_BEFORE_FIRST_BYTE, count, 0, 0, null);
  }

  public static SimFault hangBeforeFirstByte(int count) {
    return new SimFault(Kind.HANG_BEFORE_FIRST_BYTE, count, 0, 0, null);
  }

  public static SimFault status(int status, String body, int count) {
    return new SimFault(Kind.STATUS, count, 0, status, body);
  }

  public static SimFault resetAfterTokens(int tokens, int count) {
    return new SimFault(Kind.RESET_AFTER_TOKENS, count, tokens, 0, null);
  }

  public static SimFault stallAfterTokens(int tokens, int count) {
    return new SimFault(Kind.STALL_AFTER_TOKENS, count, tokens, 0, null);
  }

  /** A node-level fault without parameters: refuse-connections, black-hole, hung-engine, thermal-throttle, ... */
  public static SimFault node(Kind kind) {
    return new SimFault(kind, 1, 0, 0, null, 0, 1, kind == Kind.WRONG_MODEL ? DEFAULT_WRONG_MODEL : null);
  }

  public static SimFault errorRate(double percent, int status) {
    return new SimFault(Kind.ERROR_RATE, 1, 0, status, null, percent, 1, null);
  }

  public static SimFault dieAfterChunks(int chunks) {
    return new SimFault(Kind.DIE_AFTER_CHUNKS, 1, chunks, 0, null);
  }

  public static SimFault stall(int chunks) {
    return new SimFault(Kind.STALL, 1, chunks, 0, null);
  }

  public static SimFault slow(double factor) {
    return new SimFault(Kind.SLOW, 1, 0, 0, null, 0, factor, null);
  }

  public static SimFault wrongModel(String model) {
    return new SimFault(Kind.WRONG_MODEL, 1, 0, 0, null, 0, 1, model);
  }

  /**
   * Parses the CLI form {@code kind[:name=value,...]}, e.g. {@code thermal-throttle},
   * {@code error-rate:percent=20,status=503}, {@code reset-after-tokens:tokens=5,count=2}.
   */
  public static SimFault parse(String spec) {
    Objects.requireNonNull(spec, "spec");
    int colon = spec.indexOf(':');
    Map<String, String> params = new LinkedHashMap<>();
    params.put("kind", (colon < 0 ? spec : spec.substring(0, colon)).trim());
    if (colon >= 0 && colon < spec.length() - 1) {
      for (String pair : spec.substring(colon + 1).split(",")) {
        int eq = pair.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException("fault \"" + spec + "\": \"" + pair
              + "\" is not name=value (expected e.g. error-rate:percent=20,status=503)");
        }
        params.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
      }
    }
    return fromParams(params, "fault \"" + spec + "\"");
  }

  /** Reads {@code {"kind":"error-rate","percent":20,"status":503}} (the body of {@code POST /sim/faults}). */
  public static SimFault fromJson(JsonNode json) {
    Objects.requireNonNull(json, "json");
    if (!json.isObject()) {
      throw new IllegalArgumentException("fault: " + json + " is not an object (expected {\"kind\":\"...\"})");
    }
    Map<String, String> params = new LinkedHashMap<>();
    json.fields().forEachRemaining(field -> params.put(field.getKey(),
        field.getValue().isTextual() ? field.getValue().asText() : field.getValue().toString()));
    if (!params.containsKey("kind")) {
      throw new IllegalArgumentException("fault: kind is missing (expected e.g. {\"kind\":\"thermal-throttle\"})");
    }
    return fromParams(params, "fault");
  }

  private static SimFault fromParams(Map<String, String> params, String where) {
    Kind kind = Kind.fromWireName(params.get("kind"));
    for (String name : params.keySet()) {
      if (!allowed(kind).contains(name)) {
        throw new IllegalArgumentException(where + ": \"" + name + "\" is not a parameter of " + kind.wireName()
            + " (expected " + (allowed(kind).size() == 1 ? "none" : String.join(", ",
                allowed(kind).subList(1, allowed(kind).size()))) + ")");
      }
    }
    int count = intParam(params, "count", 1, where);
    return switch (kind) {
      case RESET_BEFORE_FIRST_BYTE, HANG_BEFORE_FIRST_BYTE -> new SimFault(kind, count, 0, 0, null);
      case STATUS -> new SimFault(kind, count, 0, intParam(params, "status", 503, where),
          params.getOrDefault("body", OLLAMA_BUSY_BODY));
      case RESET_AFTER_TOKENS, STALL_AFTER_TOKENS ->
          new SimFault(kind, count, intParam(params, "tokens", 0, where), 0, null);
      case DIE_AFTER_CHUNKS, STALL -> new SimFault(kind, 1, intParam(params, "chunks", 1, where), 0, null);
      case ERROR_RATE -> errorRate(doubleParam(params, "percent", 100, where), intParam(params, "status", 500, where));
      case SLOW -> slow(doubleParam(params, "factor", 2, where));
      case WRONG_MODEL -> wrongModel(params.getOrDefault("model", DEFAULT_WRONG_MODEL));
      default -> node(kind);
    };
  }

  private static List<String> allowed(Kind kind) {
    return switch (kind) {
      case RESET_BEFORE_FIRST_BYTE, HANG_BEFORE_FIRST_BYTE -> List.of("kind", "count");
      case STATUS -> List.of("kind", "count", "status", "body");
      case RESET_AFTER_TOKENS, STALL_AFTER_TOKENS -> List.of("kind", "count", "tokens");
      case DIE_AFTER_CHUNKS, STALL -> List.of("kind", "chunks");
      case ERROR_RATE -> List.of("kind", "percent", "status");
      case SLOW -> List.of("kind", "factor");
      case WRONG_MODEL -> List.of("kind", "model");
      default -> List.of("kind");
    };
  }

  private static int intParam(Map<String, String> params, String name, int fallback, String where) {
    String value = params.get(name);
    if (value == null) {
      return fallback;
    }
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(where + ": " + name + " \"" + value + "\" is not an integer");
    }
  }

  private static double doubleParam(Map<String, String> params, String name, double fallback, String where) {
    String value = params.get(name);
    if (value == null) {
      return fallback;
    }
    try {
      return Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(where + ": " + name + " \"" + value + "\" is not a number");
    }
  }

  /** The CLI form, e.g. {@code error-rate:percent=20.0,status=503}. */
  public String describe() {
    String params = switch (kind) {
      case RESET_BEFORE_FIRST_BYTE, HANG_BEFORE_FIRST_BYTE -> "count=" + count;
      case STATUS -> "status=" + status + ",count=" + count;
      case RESET_AFTER_TOKENS, STALL_AFTER_TOKENS -> "tokens=" + afterTokens + ",count=" + count;
      case DIE_AFTER_CHUNKS, STALL -> "chunks=" + afterTokens;
      case ERROR_RATE -> String.format(Locale.ROOT, "percent=%s,status=%d", trim(percent), status);
      case SLOW -> "factor=" + trim(factor);
      case WRONG_MODEL -> "model=" + model;
      default -> "";
    };
    return params.isEmpty() ? kind.wireName : kind.wireName + ":" + params;
  }

  private static String trim(double value) {
    return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
  }
}
