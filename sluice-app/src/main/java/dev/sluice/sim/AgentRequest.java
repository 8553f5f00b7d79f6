package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.sim.GenerationRequest.Endpoint;
import dev.sluice.support.Json;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The agent features of a generation request: tools and tool choice, JSON output, thinking. {@link #shape} turns a
 * plain generation into the reply these ask for, deterministically from the seed and the prompt.
 *
 * <p>Rules (see docs/simulator.md, "Tools, JSON and thinking"): {@code tool_choice} {@code none} never calls a tool,
 * {@code required} and a named function always do, {@code auto} (the default when tools are given, and Ollama's only
 * mode) calls one with probability 0.8, or 0.5 when the last message is a tool result; with
 * {@code parallel_tool_calls} not false and several tools, one call in five is two calls. Thinking is on for
 * {@code chat_template_kwargs.enable_thinking: true} (vLLM) or {@code think: true}/{@code "low"|"medium"|"high"}
 * (Ollama), and by default for a model whose name contains {@code thinking}; {@code enable_thinking: false} or
 * {@code think: false} turns it off.
 *
 * @param tools the {@code function} objects of {@code tools} (name, parameters), empty for none
 * @param toolChoice {@code auto}, {@code required}, {@code none} or {@code named}
 * @param namedTool the function of a named tool choice, else null
 * @param parallelToolCalls whether more than one call may come at once
 * @param afterToolResult whether the last message is a tool result ({@code role: "tool"})
 * @param json whether the output must be JSON
 * @param schema the JSON schema it must conform to, or null for any JSON object
 * @param thinking whether reasoning comes before the answer
 */
record AgentRequest(List<JsonNode> tools, String toolChoice, String namedTool, boolean parallelToolCalls,
    boolean afterToolResult, boolean json, JsonNode schema, boolean thinking) {

  private static final AgentRequest NONE = new AgentRequest(List.of(), "none", null, false, false, false, null, false);
  /** How often {@code auto} calls a tool on a new user turn: agents mostly act. */
  private static final double AUTO_CALL_SHARE = 0.8;
  /** How often {@code auto} calls again right after a tool result: lower, so simulated agent loops end. */
  private static final double AUTO_CALL_SHARE_AFTER_RESULT = 0.5;
  /** One turn in this many makes two calls at once where parallel calls are allowed. */
  private static final int PARALLEL_CALL_ONE_IN = 5;
  /** Reasoning length: 16 to 128 tokens, short enough to leave most of a typical limit for the answer. */
  private static final int MIN_REASONING_TOKENS = 16;
  private static final int MAX_REASONING_TOKENS = 128;
  private static final long SALT = 0x70_6f_6f_6c_73L; // keeps these draws apart from the text's own
  private static final String[] REASONING_WORDS = {
      "Okay,", "the", "user", "wants", "me", "to", "check", "first", "so", "I", "should", "look", "at", "the",
      "request", "and", "then", "answer", "carefully.", "Let", "me", "think", "wait,", "maybe", "a", "tool", "call"
  };

  AgentRequest {
    tools = List.copyOf(tools);
  }

  /** Reads the agent fields of a body; an unusable one is an {@link IllegalArgumentException} (a 400). */
  static AgentRequest parse(Endpoint endpoint, JsonNode body) {
    boolean chat = endpoint == Endpoint.OPENAI_CHAT || endpoint == Endpoint.OLLAMA_CHAT;
    List<JsonNode> tools = chat ? tools(body.path("tools")) : List.of();
    String choice = tools.isEmpty() ? "none" : "auto";
    String named = null;
    JsonNode toolChoice = body.path("tool_choice");
    if (endpoint == Endpoint.OPENAI_CHAT && !toolChoice.isMissingNode() && !toolChoice.isNull()) {
      if (toolChoice.isTextual() && List.of("auto", "required", "none").contains(toolChoice.asText())) {
        choice = toolChoice.asText();
      } else if (toolChoice.path("function").path("name").isTextual()) {
        choice = "named";
        named = toolChoice.path("function").path("name").asText();
        String wanted = named;
        if (tools.stream().noneMatch(tool -> tool.path("name").asText().equals(wanted))) {
          throw new IllegalArgumentException("tool_choice: function '" + named + "' is not among the tools given");
        }
      } else {
        throw new IllegalArgumentException("tool_choice must be \"auto\", \"required\", \"none\" or "
            + "{\"type\":\"function\",\"function\":{\"name\":...}}, got " + toolChoice);
      }
      if (tools.isEmpty() && !choice.equals("none")) {
        throw new IllegalArgumentException("tool_choice \"" + choice + "\" needs tools");
      }
    }
    JsonNode messages = body.path("messages");
    boolean afterToolResult = messages.isArray() && !messages.isEmpty()
        && "tool".equals(messages.get(messages.size() - 1).path("role").asText());
    boolean json = false;
    JsonNode schema = null;
    if (endpoint.api == Api.OLLAMA) {
      JsonNode format = body.path("format");
      json = format.isObject() || format.isTextual() && format.asText().equals("json");
      schema = format.isObject() ? format : null;
    } else {
      JsonNode format = body.path("response_format");
      switch (format.path("type").asText("text")) {
        case "json_object" -> json = true;
        case "json_schema" -> {
          json = true;
          JsonNode given = format.path("json_schema").path("schema");
          schema = given.isObject() ? given : null;
        }
        default -> { } // text
      }
    }
    boolean thinking = endpoint != Endpoint.OPENAI_COMPLETION && thinking(endpoint, body);
    if (tools.isEmpty() && !json && !thinking) {
      return NONE;
    }
    return new AgentRequest(tools, choice, named, body.path("parallel_tool_calls").asBoolean(true),
        afterToolResult, json, schema, thinking);
  }

  private static List<JsonNode> tools(JsonNode given) {
    List<JsonNode> tools = new ArrayList<>();
    if (given.isMissingNode() || given.isNull()) {
      return tools;
    }
    if (!given.isArray()) {
      throw new IllegalArgumentException("tools must be an array of {\"type\":\"function\",\"function\":{...}}");
    }
    for (int i = 0; i < given.size(); i++) {
      JsonNode function = given.get(i).path("function");
      if (!function.path("name").isTextual() || function.path("name").asText().isEmpty()) {
        throw new IllegalArgumentException("tools[" + i + "].function.name is required");
      }
      tools.add(function);
    }
    return tools;
  }

  private static boolean thinking(Endpoint endpoint, JsonNode body) {
    boolean byModel = body.path("model").asText().toLowerCase(Locale.ROOT).contains("thinking");
    JsonNode asked = endpoint.api == Api.OLLAMA ? body.path("think")
        : body.path("chat_template_kwargs").path("enable_thinking");
    if (asked.isBoolean()) {
      return asked.asBoolean();
    }
    if (asked.isTextual()) { // Ollama's levels for gpt-oss
      return List.of("low", "medium", "high").contains(asked.asText());
    }
    return byModel;
  }

  /** Whether the request asks for nothing beyond plain text. */
  boolean plain() {
    return this == NONE || tools.isEmpty() && !json && !thinking;
  }

  /**
   * The reply to {@code plain}, the generation the node would answer without agent features: reasoning, then tool
   * calls or JSON content or {@code plain}'s content, cut at {@code limit} tokens (finish reason {@code length}).
   * Draws depend on {@code seed} and {@code promptText} only.
   */
  Generation shape(Generation plain, long seed, String promptText, int limit) {
    if (plain()) {
      return plain;
    }
    SplittableRandom random = new SplittableRandom((seed * 0x9E3779B97F4A7C15L + promptText.hashCode()) ^ SALT);
    List<String> tokens = new ArrayList<>();
    int reasoning = 0;
    if (thinking) {
      reasoning = MIN_REASONING_TOKENS + random.nextInt(MAX_REASONING_TOKENS - MIN_REASONING_TOKENS + 1);
      for (int i = 0; i < reasoning; i++) {
        String word = REASONING_WORDS[random.nextInt(REASONING_WORDS.length)];
        tokens.add(i == 0 ? word : " " + word);
      }
    }
    List<AgentReply.ToolCall> calls = new ArrayList<>();
    String finish = plain.finishReason();
    if (callsTool(random)) {
      boolean twoAtOnce = namedTool == null && parallelToolCalls && tools.size() > 1
          && random.nextInt(PARALLEL_CALL_ONE_IN) == 0;
      int count = twoAtOnce ? 2 : 1;
      for (int index = 0; index < count; index++) {
        JsonNode tool = namedTool != null ? tools.stream().filter(t -> t.path("name").asText().equals(namedTool))
            .findFirst().orElseThrow() : tools.get(random.nextInt(tools.size()));
        String arguments = JsonValues.conforming(parameters(tool), random).toString();
        String id = "chatcmpl-tool-" + HexFormat.of().toHexDigits(random.nextLong())
            + HexFormat.of().toHexDigits(random.nextLong());
        List<String> pieces = JsonValues.pieces(arguments, random);
        calls.add(new AgentReply.ToolCall(index, id, tool.path("name").asText(), tokens.size(), 1 + pieces.size()));
        tokens.add(tool.path("name").asText());
        tokens.addAll(pieces);
      }
      finish = "tool_calls";
    } else if (json) {
      tokens.addAll(JsonValues.pieces((schema == null ? JsonValues.freeForm(random)
          : JsonValues.conforming(schema, random)).toString(), random));
      finish = "stop";
    } else {
      tokens.addAll(plain.tokens());
    }
    if (tokens.size() > limit) {
      tokens = tokens.subList(0, Math.max(1, limit));
      finish = "length";
    }
    return new Generation(plain.sequence(), plain.model(), plain.createdSeconds(), plain.promptTokens(),
        List.copyOf(tokens), finish, plain.stream(), plain.includeUsage(), new AgentReply(reasoning, calls));
  }

  /** A tool's {@code parameters}; a tool without any takes an empty object. */
  private static JsonNode parameters(JsonNode tool) {
    JsonNode parameters = tool.path("parameters");
    if (parameters.isObject()) {
      return parameters;
    }
    ObjectNode empty = Json.MAPPER.createObjectNode().put("type", "object");
    empty.putObject("properties");
    return empty;
  }

  private boolean callsTool(SplittableRandom random) {
    return switch (toolChoice) {
      case "required", "named" -> true;
      case "auto" -> random.nextDouble() < (afterToolResult ? AUTO_CALL_SHARE_AFTER_RESULT : AUTO_CALL_SHARE);
      default -> false;
    };
  }
}
