package dev.sluice.probe;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.support.Json;
import java.io.IOException;

/**
 * What a streamed generation probe received, read from the bytes of its answer (all of it, or what came before the
 * deadline): how many events carried text, whether the stream reached its final event (Ollama {@code "done":true},
 * OpenAI {@code data: [DONE]}), and an in-band error if the node sent one.
 *
 * @param tokens events that carried generated text
 * @param complete the final event arrived
 * @param error the node's in-band error text, or null
 */
record GenerationAnswer(int tokens, boolean complete, String error) {
  /** Longest error text kept from the node's answer. */
  private static final int MAX_ERROR_CHARS = 120;

  /** Reads an Ollama NDJSON stream or an OpenAI SSE stream; a line cut by the deadline is ignored. */
  static GenerationAnswer read(ApiFlavor api, String body) {
    int tokens = 0;
    boolean complete = false;
    for (String raw : body.split("\n")) {
      String line = raw.strip();
      if (api == ApiFlavor.OPENAI) {
        if (!line.startsWith("data:")) continue; // blank separators, comments, event names
        line = line.substring("data:".length()).strip();
        if (line.equals("[DONE]")) {
          complete = true;
          continue;
        }
      }
      if (line.isEmpty()) continue;
      JsonNode event = parse(line);
      if (event == null) continue;
      if (event.has("error")) {
        JsonNode e = event.get("error");
        String text = e.isTextual() ? e.asText() : e.path("message").asText(e.toString());
        return new GenerationAnswer(tokens, false, ProbeHttp.truncate(text, MAX_ERROR_CHARS));
      }
      if (!text(api, event).isEmpty()) tokens++;
      if (api == ApiFlavor.OLLAMA && event.path("done").asBoolean(false)) complete = true;
    }
    return new GenerationAnswer(tokens, complete, null);
  }

  /**
   * Why this answer fails the probe, or null when it passes: the node reported an error, or the answer ended
   * (or the deadline passed) before the final event.
   */
  String failure(boolean timedOut, long timeoutMs) {
    if (error != null) return "error in the answer after " + tokens(tokens) + ": " + error;
    if (complete) return null;
    if (timedOut) {
      return tokens == 0 ? "timeout after " + timeoutMs + " ms"
          : "stalled after " + tokens(tokens) + ", no complete answer within " + timeoutMs + " ms";
    }
    return "the answer ended after " + tokens(tokens) + " without its final event";
  }

  private static String tokens(int n) {
    return n + (n == 1 ? " token" : " tokens");
  }

  private static String text(ApiFlavor api, JsonNode event) {
    if (api == ApiFlavor.OLLAMA) {
      return event.has("message") ? event.path("message").path("content").asText("")
          : event.path("response").asText("");
    }
    JsonNode choice = event.path("choices").path(0);
    return choice.has("delta") ? choice.path("delta").path("content").asText("") : choice.path("text").asText("");
  }

  private static JsonNode parse(String line) {
    try {
      return Json.MAPPER.readTree(line);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
