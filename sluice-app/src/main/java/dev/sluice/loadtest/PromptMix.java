package dev.sluice.loadtest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * The prompts a bench sends: the built-in mix of the brief's workload (code generation, summaries of long technical
 * documents, multi-turn dialogues of 3–7 turns) with lognormal lengths, seeded so two runs send the same requests; or
 * the lines of a JSONL file ({@code {"messages":[...], "max_tokens":N}} or {@code {"prompt":"..."}}), in order,
 * round and round.
 */
public final class PromptMix {
  /** One request body's content: chat messages and max_tokens. */
  public record Prompt(String kind, ArrayNode messages, int maxTokens) {}

  private static final String[] WORDS = ("the request router node latency token queue batch memory kernel cache "
      + "gateway model inference stream context window throughput replica shard schedule retry timeout health probe "
      + "service deploy config build test metric trace span buffer thread pool vector matrix tensor layer").split(" ");
  private static final String[] CODE_TASKS = {"Write a Java method that parses an ISO-8601 duration.",
      "Implement a thread-safe LRU cache in Python with type hints.",
      "Write a Go HTTP handler that streams server-sent events.",
      "Refactor this SQL query to use a window function.",
      "Write a Rust function that merges k sorted iterators."};

  private final List<Prompt> file;
  private final double maxTokensScale;
  private final SplittableRandom random;
  private long next;

  private PromptMix(List<Prompt> file, double maxTokensScale, long seed) {
    this.file = file;
    this.maxTokensScale = maxTokensScale;
    this.random = new SplittableRandom(seed);
  }

  /** The built-in mix; {@code maxTokensScale} multiplies the drawn max_tokens (64–512), at least 1 token. */
  public static PromptMix builtIn(long seed, double maxTokensScale) {
    if (!(maxTokensScale > 0)) throw new IllegalArgumentException("--max-tokens-scale " + maxTokensScale
        + " must be > 0 (e.g. 0.25 for answers a quarter as long)");
    return new PromptMix(null, maxTokensScale, seed);
  }

  /** The prompts of a JSONL file, each line {@code {"messages":[...], "max_tokens":N}} or {@code {"prompt":"..."}}. */
  public static PromptMix file(Path jsonl, double maxTokensScale) throws IOException {
    Objects.requireNonNull(jsonl, "jsonl");
    List<Prompt> prompts = new ArrayList<>();
    int lineNo = 0;
    for (String line : Files.readAllLines(jsonl)) {
      lineNo++;
      if (line.isBlank()) continue;
      JsonNode n;
      try {
        n = Json.MAPPER.readTree(line);
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException(jsonl + ":" + lineNo + ": not JSON (" + e.getOriginalMessage()
            + "); expected {\"messages\":[...], \"max_tokens\":N} or {\"prompt\":\"...\"}");
      }
      ArrayNode messages;
      if (n.path("messages").isArray() && !n.path("messages").isEmpty()) {
        messages = (ArrayNode) n.get("messages");
      } else if (n.path("prompt").isTextual()) {
        messages = Json.MAPPER.createArrayNode();
        messages.addObject().put("role", "user").put("content", n.get("prompt").asText());
      } else {
        throw new IllegalArgumentException(jsonl + ":" + lineNo
            + ": needs \"messages\" (a non-empty array) or \"prompt\" (a string)");
      }
      int max = Math.max(1, (int) Math.round(n.path("max_tokens").asInt(256) * maxTokensScale));
      prompts.add(new Prompt("file", messages, max));
    }
    if (prompts.isEmpty()) throw new IllegalArgumentException(jsonl + ": no prompts (one JSON object a line)");
    return new PromptMix(List.copyOf(prompts), maxTokensScale, 0);
  }

  /** The next prompt (thread-safe). */
  public synchronized Prompt next() {
    if (file != null) return file.get((int) (next++ % file.size()));
    double r = random.nextDouble();
    if (r < 0.4) return code();
    if (r < 0.7) return summary();
    return dialogue();
  }

  private Prompt code() {
    ArrayNode m = Json.MAPPER.createArrayNode();
    m.addObject().put("role", "system").put("content", "You are a senior engineer. Answer with code.");
    m.addObject().put("role", "user").put("content", CODE_TASKS[random.nextInt(CODE_TASKS.length)] + " "
        + words(lognormal(200, 600, 0.6)));
    return new Prompt("code", m, maxTokens(256, 0.5));
  }

  private Prompt summary() {
    ArrayNode m = Json.MAPPER.createArrayNode();
    m.addObject().put("role", "user").put("content", "Summarize this technical document in five bullet points:\n"
        + words(lognormal(800, 4000, 0.5)));
    return new Prompt("summary", m, maxTokens(160, 0.4));
  }

  private Prompt dialogue() {
    ArrayNode m = Json.MAPPER.createArrayNode();
    int turns = 3 + random.nextInt(5); // 3–7 user turns
    for (int t = 0; t < turns; t++) {
      m.addObject().put("role", "user").put("content", words(lognormal(20, 400, 0.7)));
      if (t < turns - 1) m.addObject().put("role", "assistant").put("content", words(lognormal(30, 400, 0.7)));
    }
    return new Prompt("dialogue", m, maxTokens(128, 0.6));
  }

  /** A lognormal draw around {@code median} tokens, clamped to [min(median,200)…max]. */
  private int lognormal(int median, int max, double sigma) {
    double v = median * Math.exp(sigma * gaussian());
    return (int) Math.max(Math.min(median, 200), Math.min(max, v));
  }

  private int maxTokens(int median, double sigma) {
    int v = (int) Math.max(64, Math.min(512, median * Math.exp(sigma * gaussian())));
    return Math.max(1, (int) Math.round(v * maxTokensScale));
  }

  private double gaussian() {
    double u1 = 1 - random.nextDouble();
    double u2 = random.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** About {@code tokens} tokens of filler text (one word ≈ 1.3 tokens). */
  private String words(int tokens) {
    int n = Math.max(1, (int) (tokens / 1.3));
    StringBuilder sb = new StringBuilder(n * 7);
    for (int i = 0; i < n; i++) {
      if (i > 0) sb.append(i % 15 == 14 ? ". " : " ");
      sb.append(WORDS[random.nextInt(WORDS.length)]);
    }
    return sb.toString();
  }

  /** The request body for {@code p}. */
  static ObjectNode body(String model, Prompt p, boolean stream) {
    ObjectNode b = Json.MAPPER.createObjectNode().put("model", model).put("max_tokens", p.maxTokens());
    b.set("messages", p.messages());
    if (stream) {
      b.put("stream", true);
      b.putObject("stream_options").put("include_usage", true);
    }
    return b;
  }
}
