package dev.sluice.loadtest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Agent sessions as coding agents send them (design/AGENTS.md): a large system prompt and 10–50 JSON-schema tool
 * definitions, a context that grows every turn by the assistant's tool calls and their results (now and then a user
 * message), think times between turns (log-normal, median 2 s, p99 ~11 min), sub-agent bursts (log-normal sizes,
 * median 7, p90 51, each sub-agent's input the parent's context plus its task), and prefix resets (~1.5 % of turns at
 * random, plus compactions when the context would pass {@code maxPromptTokens}): the environment header at the very
 * start of the system prompt changes and the history is replaced by a summary.
 *
 * <p>Pure and seeded: session {@code i} depends only on (settings, i), never on the clock, the order sessions are
 * drawn in or what a gateway answered (the assistant turns appended are the generator's own stand-ins), so the same
 * seed gives the same requests byte for byte. Used by {@code sluice bench --preset agents}; the lab can draw the same
 * sessions.
 */
public final class AgentWorkload {
  /** The header each request carries with its session id (sub-agents: the parent's id + {@code /sub-k}). */
  public static final String SESSION_HEADER = "x-session-id";
  /** A turn is cached-eligible when at least this share of its input is a verbatim prefix of the previous input. */
  public static final double CACHED_ELIGIBLE_REUSE = 0.90;

  /** Think time: log-normal, median 2 s, sigma fitted so p99 ≈ 11 min ({@code ln(330)/2.326}). */
  static final double THINK_MEDIAN_MILLIS = 2_000;
  static final double THINK_SIGMA = 2.49;
  static final long THINK_MAX_MILLIS = 15 * 60_000;
  /** Burst sizes: log-normal, median 7, p90 51 ({@code sigma = ln(51/7)/1.2816}), 2–128 sub-agents. */
  static final double BURST_MEDIAN = 7;
  static final double BURST_SIGMA = 1.549;
  static final int BURST_MAX = 128;
  /** Share of main turns followed by a burst: with bursts of ~20 on average about half the requests are sub-agents. */
  static final double BURST_SHARE = 0.05;
  /** Share of turns that reset the prefix at random (compactions at the context limit add to it). */
  static final double RESET_SHARE = 0.015;
  /** Share of turns that bring a user message rather than tool results. */
  static final double USER_TURN_SHARE = 0.12;

  /**
   * What to generate. {@code maxTokensScale} multiplies every max_tokens (median 320); {@code streamShare} is the
   * share of streamed requests; {@code maxPromptTokens} (≈ chars / 4) bounds a context before it is compacted.
   */
  public record Settings(long seed, double streamShare, double maxTokensScale, int maxPromptTokens) {
    public Settings {
      if (streamShare < 0 || streamShare > 1) {
        throw new IllegalArgumentException("--stream-share " + streamShare + " must be between 0 and 1");
      }
      if (!(maxTokensScale > 0)) throw new IllegalArgumentException("--max-tokens-scale " + maxTokensScale
          + " must be > 0 (e.g. 0.25 for answers a quarter as long)");
      if (maxPromptTokens < 8_000) throw new IllegalArgumentException("--max-prompt-tokens " + maxPromptTokens
          + " must be at least 8000 (an agent's system prompt and tools alone take up to ~12,000 tokens)");
    }

    /** Everything streamed, answers as long as drawn, contexts up to 16,000 tokens (fits the demo's A10). */
    public static Settings defaults(long seed) {
      return new Settings(seed, 1.0, 1.0, 16_000);
    }
  }

  /** Main-agent turn, sub-agent request, or a main turn that reset the prefix. */
  public enum Kind { MAIN, SUBAGENT, RESET }

  /**
   * One request: its session, turn number, kind, the body (without model), its input size (chars and ≈ tokens of the
   * tools and messages) and the share of that input that is a verbatim prefix of the session's previous input (0 for
   * a session's first turn).
   */
  public record Request(String sessionId, int turn, Kind kind, boolean stream, int maxTokens, ArrayNode tools,
      ArrayNode messages, int inputChars, double reuse) {
    /** ≈ tokens, the simulator's rule (chars / 4). */
    public int inputTokens() {
      return (inputChars + 3) / 4;
    }

    public boolean cachedEligible() {
      return reuse >= CACHED_ELIGIBLE_REUSE;
    }

    /** The chat completions body: model, tools, messages, then max_tokens and stream (so bodies share prefixes). */
    public byte[] body(String model) {
      ObjectNode b = Json.MAPPER.createObjectNode().put("model", model);
      b.set("tools", tools);
      b.set("messages", messages);
      b.put("max_tokens", maxTokens);
      if (stream) {
        b.put("stream", true);
        b.putObject("stream_options").put("include_usage", true);
      }
      try {
        return Json.MAPPER.writeValueAsBytes(b);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** What is sent together after {@code thinkMillis}: one main turn, or a burst of sub-agents. */
  public record Step(long thinkMillis, List<Request> requests) {}

  private final Settings settings;

  public AgentWorkload(Settings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  public Settings settings() {
    return settings;
  }

  /** Session {@code index} (0, 1, …): the same for the same settings and index, whatever else was drawn. */
  public Session session(long index) {
    return new Session(settings, index);
  }

  /** One agent session: call {@link #next()} until it returns null. Not thread-safe; one driver per session. */
  public static final class Session {
    private final Settings settings;
    private final SplittableRandom random;
    private final String id;
    private final int turns;
    private final ArrayNode tools;
    private final String toolsJson;
    private final String systemBody;
    private ArrayNode messages = Json.MAPPER.createArrayNode();
    private String previousInput;
    private int turn;
    private int resets;
    private boolean burstPending;
    private List<Request> lastBurst;

    Session(Settings settings, long index) {
      this.settings = settings;
      this.random = new SplittableRandom(settings.seed() * 0x9E3779B97F4A7C15L + index * 0xBF58476D1CE4E5B9L + 1);
      this.id = String.format("agent-%d-%05d", settings.seed(), index);
      this.turns = (int) clamp(logNormal(20, 0.7), 3, 200);
      this.tools = Text.tools(random, 10 + random.nextInt(41));
      this.toolsJson = tools.toString();
      this.systemBody = Text.systemPrompt(random);
      messages.add(system());
      messages.addObject().put("role", "user").put("content", Text.task(random));
    }

    public String id() {
      return id;
    }

    /** The next step, or null when the session is over. */
    public Step next() {
      if (burstPending) {
        burstPending = false;
        return burst();
      }
      if (turn >= turns) return null;
      long think = turn == 0 ? 0 : (long) clamp(logNormal(THINK_MEDIAN_MILLIS, THINK_SIGMA), 20, THINK_MAX_MILLIS);
      Kind kind = Kind.MAIN;
      if (turn > 0) {
        appendAnswer();
        if (random.nextDouble() < RESET_SHARE || tokens(render(toolsJson, messages)) > settings.maxPromptTokens()) {
          reset();
          kind = Kind.RESET;
        }
      }
      String input = render(toolsJson, messages);
      Request r = new Request(id, turn, kind, stream(), maxTokens(), tools, messages.deepCopy(), input.length(),
          reuse(previousInput, input));
      previousInput = input;
      turn++;
      if (turn < turns && random.nextDouble() < BURST_SHARE) burstPending = true;
      return new Step(think, List.of(r));
    }

    /** The stand-in answer to the last main turn (tool calls; after a burst, the task call that
     * launched it and the sub-agents' merged report). */
    private void appendAnswer() {
      if (lastBurst != null) {
        ObjectNode a = messages.addObject().put("role", "assistant").put("content", "Delegating to sub-agents.");
        a.putArray("tool_calls").add(Text.call("call_" + turn + "_0", "task", "{\"description\":\""
            + lastBurst.size() + " sub-tasks\"}"));
        messages.addObject().put("role", "tool").put("tool_call_id", "call_" + turn + "_0")
            .put("content", Text.words(random, (int) clamp(logNormal(600, 0.5), 100, 4_000)));
        lastBurst = null;
        return;
      }
      if (random.nextDouble() < USER_TURN_SHARE) {
        messages.addObject().put("role", "assistant").put("content", Text.words(random, (int) clamp(
            logNormal(300, 0.6), 40, 2_000)));
        messages.addObject().put("role", "user").put("content", Text.words(random, (int) clamp(
            logNormal(160, 0.7), 10, 4_000)));
        return;
      }
      int n = 1 + (random.nextDouble() < 0.2 ? 1 + random.nextInt(2) : 0);
      ObjectNode a = messages.addObject().put("role", "assistant").put("content", Text.words(random,
          (int) clamp(logNormal(80, 0.6), 10, 600)));
      ArrayNode calls = a.putArray("tool_calls");
      String[] ids = new String[n];
      for (int k = 0; k < n; k++) {
        ids[k] = "call_" + turn + "_" + k;
        ObjectNode fn = (ObjectNode) tools.get(random.nextInt(tools.size())).get("function");
        calls.add(Text.call(ids[k], fn.get("name").asText(), Text.arguments(random, fn)));
      }
      for (int k = 0; k < n; k++) {
        messages.addObject().put("role", "tool").put("tool_call_id", ids[k])
            .put("content", Text.words(random, (int) clamp(logNormal(450, 0.75), 20, 20_000)));
      }
    }

    /** A new environment header at the start of the system prompt, the history folded into a summary. */
    private void reset() {
      resets++;
      messages = Json.MAPPER.createArrayNode();
      messages.add(system());
      messages.addObject().put("role", "user").put("content", "Summary of the conversation so far: "
          + Text.words(random, (int) clamp(logNormal(1_500, 0.4), 300, 6_000)));
    }

    /** The burst after the last main turn: each sub-agent gets the parent's context and its own task. */
    private Step burst() {
      int n = (int) clamp(Math.round(logNormal(BURST_MEDIAN, BURST_SIGMA)), 2, BURST_MAX);
      List<Request> rs = new ArrayList<>(n);
      for (int k = 0; k < n; k++) {
        ArrayNode m = messages.deepCopy();
        m.addObject().put("role", "user").put("content", "Sub-task " + k + ": " + Text.task(random));
        String input = render(toolsJson, m);
        rs.add(new Request(id + "/sub-" + (turn - 1) + "-" + k, turn - 1, Kind.SUBAGENT, stream(), maxTokens(),
            tools, m, input.length(), reuse(previousInput, input)));
      }
      lastBurst = rs;
      return new Step((long) clamp(logNormal(300, 0.5), 20, 5_000), List.copyOf(rs));
    }

    private ObjectNode system() {
      return Json.MAPPER.createObjectNode().put("role", "system").put("content", "<env>session " + id + ", context "
          + resets + ", cwd /work/repo-" + (Math.abs(id.hashCode()) % 97) + "</env>\n" + systemBody);
    }

    private boolean stream() {
      return random.nextDouble() < settings.streamShare();
    }

    private int maxTokens() {
      return (int) Math.max(1, Math.round(clamp(logNormal(320, 0.7), 16, 4_096) * settings.maxTokensScale()));
    }

    private double logNormal(double median, double sigma) {
      return median * Math.exp(sigma * gaussian(random));
    }
  }

  /** The input as the reuse statistics see it: the tools, then the messages, as JSON. */
  static String render(String toolsJson, ArrayNode messages) {
    return toolsJson + messages.toString();
  }

  /** Share of {@code current} that is a verbatim prefix of {@code previous} (0 without a previous input). */
  static double reuse(String previous, String current) {
    if (previous == null || current.isEmpty()) return 0;
    int common = Arrays.mismatch(previous.getBytes(StandardCharsets.ISO_8859_1),
        current.getBytes(StandardCharsets.ISO_8859_1));
    if (common < 0) common = current.length();
    // the previous messages array ended with ']' where the current one continues with ','
    return Math.min(1.0, (double) Math.min(common + 1, previous.length()) / current.length());
  }

  private static int tokens(String input) {
    return (input.length() + 3) / 4;
  }

  static double clamp(double v, double min, double max) {
    return Math.max(min, Math.min(max, v));
  }

  static double gaussian(SplittableRandom random) {
    double u1 = 1 - random.nextDouble();
    double u2 = random.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** The text of sessions: system prompts, tools, tasks, filler. */
  static final class Text {
    private static final String[] WORDS = ("the request router node latency token queue batch memory kernel cache "
        + "gateway model inference stream context window throughput replica shard schedule retry timeout health probe "
        + "service deploy config build test metric trace span buffer thread pool vector matrix tensor layer file "
        + "function class module import error stack commit branch diff patch review lint format parse").split(" ");
    private static final String[] VERBS = {"read", "write", "edit", "list", "search", "run", "fetch", "create",
        "delete", "describe", "apply", "check", "query", "inspect", "render", "diff", "restart", "scale"};
    private static final String[] NOUNS = {"file", "directory", "shell", "tests", "url", "issue", "pull_request",
        "branch", "pod", "deployment", "table", "notebook", "container", "log", "metric", "secret", "image"};
    private static final String[] TASKS = {"Fix the failing test in the router module and explain the cause.",
        "Add retries with jittered backoff to the upstream client.", "Find why p99 latency doubled since last week.",
        "Refactor the config loader so reloads are atomic.", "Write a migration that adds an index to requests.",
        "Investigate the OOM kill of the a10 node and propose a fix."};

    private Text() {}

    static String systemPrompt(SplittableRandom random) {
      StringBuilder sb = new StringBuilder("You are an autonomous coding and operations agent. Use the tools to "
          + "read, change and verify the code; call tools rather than guessing; keep answers short.\n");
      int sections = 6 + random.nextInt(7);
      for (int i = 0; i < sections; i++) {
        sb.append("\n# Rule ").append(i + 1).append('\n').append(words(random, 300 + random.nextInt(400)));
      }
      return sb.toString();
    }

    /** {@code n} distinct tools with JSON-schema parameters, tens of KB in all. */
    static ArrayNode tools(SplittableRandom random, int n) {
      ArrayNode tools = Json.MAPPER.createArrayNode();
      int start = random.nextInt(VERBS.length * NOUNS.length);
      for (int i = 0; i < n; i++) {
        int k = (start + i * 7) % (VERBS.length * NOUNS.length);
        String name = i == 0 ? "task" : VERBS[k % VERBS.length] + "_" + NOUNS[k / VERBS.length];
        ObjectNode fn = tools.addObject().put("type", "function").putObject("function");
        fn.put("name", name).put("description", words(random, 100 + random.nextInt(300)));
        ObjectNode params = fn.putObject("parameters").put("type", "object");
        ObjectNode props = params.putObject("properties");
        ArrayNode required = params.putArray("required");
        int p = 1 + random.nextInt(5);
        for (int j = 0; j < p; j++) {
          String pname = i == 0 && j == 0 ? "description" : WORDS[random.nextInt(WORDS.length)] + "_" + j;
          ObjectNode prop = props.putObject(pname);
          switch (random.nextInt(4)) {
            case 0 -> prop.put("type", "integer").put("minimum", 0);
            case 1 -> prop.put("type", "boolean");
            case 2 -> prop.put("type", "array").putObject("items").put("type", "string");
            default -> prop.put("type", "string");
          }
          prop.put("description", words(random, 20 + random.nextInt(60)));
          if (j == 0 || random.nextBoolean()) required.add(pname);
        }
        params.put("additionalProperties", false);
      }
      return tools;
    }

    static String task(SplittableRandom random) {
      return TASKS[random.nextInt(TASKS.length)] + " " + words(random, 20 + random.nextInt(80));
    }

    static ObjectNode call(String id, String name, String arguments) {
      ObjectNode c = Json.MAPPER.createObjectNode().put("id", id).put("type", "function");
      c.putObject("function").put("name", name).put("arguments", arguments);
      return c;
    }

    /** Arguments valid for {@code fn}'s schema: every required property, of its type. */
    static String arguments(SplittableRandom random, ObjectNode fn) {
      ObjectNode args = Json.MAPPER.createObjectNode();
      ObjectNode props = (ObjectNode) fn.path("parameters").path("properties");
      for (var req : fn.path("parameters").path("required")) {
        String name = req.asText();
        switch (props.path(name).path("type").asText()) {
          case "integer" -> args.put(name, random.nextInt(1_000));
          case "boolean" -> args.put(name, random.nextBoolean());
          case "array" -> args.putArray(name).add(words(random, 3)).add(words(random, 2));
          default -> args.put(name, words(random, 4 + random.nextInt(12)));
        }
      }
      return args.toString();
    }

    /** About {@code chars} characters of filler words. */
    static String words(SplittableRandom random, int chars) {
      StringBuilder sb = new StringBuilder(chars + 16);
      while (sb.length() < chars) {
        if (!sb.isEmpty()) sb.append(sb.length() % 97 < 6 ? ". " : " ");
        sb.append(WORDS[random.nextInt(WORDS.length)]);
      }
      return sb.toString();
    }
  }
}
