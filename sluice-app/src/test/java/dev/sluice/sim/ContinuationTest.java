package dev.sluice.sim;

import static dev.sluice.sim.SimHttp.json;
import static dev.sluice.sim.SimHttp.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Over real HTTP: an answer cut anywhere and continued by any node with the same seed is the uninterrupted one. */
class ContinuationTest extends SimNodesFixture {
  private static final SimOptions INSTANT = SimOptions.defaults().withTimeScale(0);
  private static final String MODEL = "qwen3:32b";

  @Test
  void aContinuedOpenAiChatAnswerEqualsTheUninterruptedOneByteForByte() throws Exception {
    SimNode node = start(INSTANT);
    ObjectNode request = openAiChat();

    List<String> pieces = openAiPieces(node, request.deepCopy().put("stream", true));
    String whole = openAiText(post(node, "/v1/chat/completions", request.toString()));
    assertThat(String.join("", pieces)).isEqualTo(whole);
    assertThat(pieces.size()).isGreaterThan(8);

    for (int k : new int[] {0, 1, 5, pieces.size() - 1, pieces.size()}) {
      String partial = String.join("", pieces.subList(0, k));
      ObjectNode continuation = openAiContinuation(request, partial);
      HttpResponse<String> rest = post(node, "/v1/chat/completions", continuation.toString());
      assertThat(partial + openAiText(rest)).as("non-streamed after %d pieces", k).isEqualTo(whole);
      assertThat(json(rest).path("choices").path(0).path("finish_reason").asText()).isEqualTo("stop");
      assertThat(json(rest).path("usage").path("completion_tokens").asInt()).isEqualTo(pieces.size() - k);
      List<String> streamed = openAiPieces(node, continuation.put("stream", true));
      assertThat(partial + String.join("", streamed)).as("streamed after %d pieces", k).isEqualTo(whole);
    }
  }

  @Test
  void continuesAnOpenAiAnswerCutInsideAToken() throws Exception {
    SimNode node = start(INSTANT);
    ObjectNode request = openAiChat();
    String whole = openAiText(post(node, "/v1/chat/completions", request.toString()));

    for (int cut : new int[] {1, 2, whole.length() / 3, whole.length() - 1}) {
      String partial = whole.substring(0, cut);
      String rest = openAiText(post(node, "/v1/chat/completions", openAiContinuation(request, partial).toString()));
      assertThat(partial + rest).as("cut at char %d", cut).isEqualTo(whole);
    }
  }

  @Test
  void anotherNodeOfTheSameModelContinuesTheAnswerOfTheFirst() throws Exception {
    SimNode a = start(INSTANT);
    SimNode b = start(SimOptions.defaults().withTimeScale(50).withGpu(GpuProfile.A10));
    ObjectNode request = openAiChat().put("max_tokens", 60);

    List<String> pieces = openAiPieces(a, request.deepCopy().put("stream", true));
    assertThat(pieces).hasSize(60);
    String partial = String.join("", pieces.subList(0, 23));
    ObjectNode continuation = openAiContinuation(request, partial).put("max_tokens", 60 - 23).put("stream", true);

    assertThat(partial + String.join("", openAiPieces(b, continuation))).isEqualTo(String.join("", pieces));
  }

  @Test
  void aContinuedOllamaChatAnswerEqualsTheUninterruptedOneByteForByte() throws Exception {
    SimNode a = start(INSTANT);
    SimNode b = start(INSTANT.withGpu(GpuProfile.A10_OLLAMA));
    ObjectNode request = ollamaChat();

    List<String> pieces = ollamaPieces(a, request);
    String whole = ollamaText(post(a, "/api/chat", request.deepCopy().put("stream", false).toString()));
    assertThat(String.join("", pieces)).isEqualTo(whole);

    for (int k : new int[] {0, 1, 6, pieces.size() - 1}) {
      String partial = String.join("", pieces.subList(0, k));
      ObjectNode continuation = request.deepCopy();
      ((ArrayNode) continuation.path("messages")).addObject().put("role", "assistant").put("content", partial);
      assertThat(partial + String.join("", ollamaPieces(b, continuation))).as("streamed after %d", k)
          .isEqualTo(whole);
      HttpResponse<String> rest = post(b, "/api/chat", continuation.put("stream", false).toString());
      assertThat(partial + ollamaText(rest)).as("non-streamed after %d", k).isEqualTo(whole);
      assertThat(json(rest).path("eval_count").asInt()).isEqualTo(pieces.size() - k);
      assertThat(json(rest).path("done_reason").asText()).isEqualTo("stop");
    }
  }

  @Test
  void aResponsesInputEndingWithAnAssistantMessageIsContinuedAsMessagesContinuesAPrefill() throws Exception {
    SimNode node = start(INSTANT);
    ObjectNode request = Json.MAPPER.createObjectNode().put("model", MODEL).put("instructions", "You are terse.")
        .put("input", "Explain KV caches.");
    HttpResponse<String> first = post(node, "/v1/responses", request.toString());
    String whole = responsesText(first);
    int tokens = json(first).path("usage").path("output_tokens").asInt();
    assertThat(whole).isNotEmpty();

    for (int cut : new int[] {1, whole.length() / 3, whole.length() - 1}) {
      String partial = whole.substring(0, cut);
      ObjectNode continuation = request.deepCopy();
      ArrayNode input = continuation.putArray("input");
      input.addObject().put("role", "user").put("content", "Explain KV caches.");
      input.addObject().put("type", "message").put("role", "assistant").putArray("content").addObject()
          .put("type", "output_text").put("text", partial);
      HttpResponse<String> rest = post(node, "/v1/responses", continuation.toString());
      assertThat(partial + responsesText(rest)).as("cut at char %d", cut).isEqualTo(whole);
      // only new tokens are counted (a cut inside a token continues that token)
      assertThat(json(rest).path("usage").path("output_tokens").asInt()).isLessThanOrEqualTo(tokens)
          .isLessThan(cut > 1 ? tokens : tokens + 1);
      assertThat(json(rest).path("status").asText()).isEqualTo("completed");
    }
  }

  private static String responsesText(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    StringBuilder text = new StringBuilder();
    for (JsonNode item : json(response).path("output")) {
      if (item.path("type").asText().equals("message")) {
        item.path("content").forEach(part -> text.append(part.path("text").asText()));
      }
    }
    return text.toString();
  }

  @Test
  void givesTheSameAnswerToTheSameMessagesOnBothChatApis() throws Exception {
    SimNode node = start(INSTANT);

    String openAi = openAiText(post(node, "/v1/chat/completions", openAiChat().toString()));
    String ollama = ollamaText(post(node, "/api/chat", ollamaChat().put("stream", false).toString()));

    assertThat(ollama).isEqualTo(openAi);
  }

  @Test
  void treatsAFinalAssistantMessageAsContextWithoutContinueFinalMessage() throws Exception {
    SimNode node = start(INSTANT);
    ObjectNode request = openAiChat();
    String whole = openAiText(post(node, "/v1/chat/completions", request.toString()));
    String partial = whole.substring(0, whole.length() / 2);
    ObjectNode withPartial = openAiContinuation(request, partial);
    withPartial.remove("continue_final_message");

    assertThat(partial + openAiText(post(node, "/v1/chat/completions", withPartial.toString())))
        .isNotEqualTo(whole);
  }

  @Test
  void refusesContinueFinalMessageWithAddGenerationPromptLikeVllm() throws Exception {
    SimNode node = start(INSTANT);
    ObjectNode request = openAiContinuation(openAiChat(), "the").put("add_generation_prompt", true);

    HttpResponse<String> response = post(node, "/v1/chat/completions", request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.body()).contains("continue_final_message");
  }

  @Test
  void aCompletionPromptFollowedByTheStartOfItsAnswerContinuesThatAnswer() throws Exception {
    SimNode a = start(INSTANT);
    SimNode b = start(INSTANT.withGpu(GpuProfile.A10));

    for (String prompt : new String[] {"Once upon a time", "Q: what is a KV cache?\nA: "}) {
      List<String> pieces = completionPieces(a, completion(prompt));
      String whole = String.join("", pieces);
      for (int k : new int[] {1, 4, pieces.size() - 1}) {
        String partial = String.join("", pieces.subList(0, k));
        HttpResponse<String> rest = post(b, "/v1/completions", completion(prompt + partial).toString());
        assertThat(partial + json(rest).path("choices").path(0).path("text").asText())
            .as("%s after %d pieces", prompt, k).isEqualTo(whole);
        assertThat(json(rest).path("choices").path(0).path("finish_reason").asText()).isEqualTo("stop");
      }
    }
  }

  @Test
  void anOllamaGeneratePromptFollowedByTheStartOfItsAnswerContinuesItAndMatchesCompletions() throws Exception {
    SimNode node = start(INSTANT);
    String prompt = "Why is the sky blue?";
    ObjectNode request = Json.MAPPER.createObjectNode().put("model", MODEL).put("prompt", prompt)
        .put("stream", false);
    request.putObject("options").put("num_predict", 20);

    String whole = json(post(node, "/api/generate", request.toString())).path("response").asText();
    List<String> pieces = completionPieces(node, completion(prompt).put("max_tokens", 20));
    assertThat(String.join("", pieces)).isEqualTo(whole);

    String partial = String.join("", pieces.subList(0, 9));
    ObjectNode continuation = request.deepCopy().put("prompt", prompt + partial);
    continuation.putObject("options").put("num_predict", 5);
    HttpResponse<String> rest = post(node, "/api/generate", continuation.toString());
    assertThat(json(rest).path("response").asText()).isEqualTo(String.join("", pieces.subList(9, 14)));
    assertThat(json(rest).path("eval_count").asInt()).isEqualTo(5);
  }

  private static ObjectNode completion(String prompt) {
    return Json.MAPPER.createObjectNode().put("model", MODEL).put("prompt", prompt);
  }

  /** The text pieces of a streamed completion, one per token event. */
  private static List<String> completionPieces(SimNode node, ObjectNode request) throws Exception {
    HttpResponse<String> response = post(node, "/v1/completions", request.put("stream", true).toString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    List<String> pieces = new ArrayList<>();
    for (String event : response.body().split("\n\n")) {
      String data = event.substring("data: ".length());
      if (!data.equals("[DONE]")) {
        JsonNode choice = parse(data).path("choices").path(0);
        if (choice.path("finish_reason").isNull()) {
          pieces.add(choice.path("text").asText());
        }
      }
    }
    assertThat(pieces.size()).isGreaterThanOrEqualTo(8);
    return pieces;
  }

  private static ObjectNode openAiChat() {
    ObjectNode request = Json.MAPPER.createObjectNode().put("model", MODEL);
    ArrayNode messages = request.putArray("messages");
    messages.addObject().put("role", "system").put("content", "You are terse.");
    messages.addObject().put("role", "user").put("content", "Explain KV caches.");
    return request;
  }

  private static ObjectNode ollamaChat() {
    ObjectNode request = openAiChat();
    request.putObject("options").put("temperature", 0.7);
    return request;
  }

  private static ObjectNode openAiContinuation(ObjectNode request, String partial) {
    ObjectNode continuation = request.deepCopy().put("continue_final_message", true)
        .put("add_generation_prompt", false);
    ((ArrayNode) continuation.path("messages")).addObject().put("role", "assistant").put("content", partial);
    return continuation;
  }

  private static String openAiText(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return json(response).path("choices").path(0).path("message").path("content").asText();
  }

  private static String ollamaText(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return json(response).path("message").path("content").asText();
  }

  /** The content pieces of a streamed chat completion, one per token event. */
  private static List<String> openAiPieces(SimNode node, ObjectNode request) throws Exception {
    HttpResponse<String> response = post(node, "/v1/chat/completions", request.toString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    List<String> pieces = new ArrayList<>();
    for (String event : response.body().split("\n\n")) {
      String data = event.substring("data: ".length());
      if (!data.equals("[DONE]")) {
        JsonNode delta = parse(data).path("choices").path(0).path("delta");
        if (delta.has("content") && !delta.has("role")) {
          pieces.add(delta.path("content").asText());
        }
      }
    }
    return pieces;
  }

  /** The content pieces of a streamed Ollama chat, one per line before the done line. */
  private static List<String> ollamaPieces(SimNode node, ObjectNode request) throws Exception {
    HttpResponse<String> response = post(node, "/api/chat", request.deepCopy().put("stream", true).toString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    List<String> pieces = new ArrayList<>();
    for (String line : response.body().split("\n")) {
      JsonNode chunk = parse(line);
      if (!chunk.path("done").asBoolean()) {
        pieces.add(chunk.path("message").path("content").asText());
      }
    }
    return pieces;
  }

  private static JsonNode parse(String text) {
    try {
      return Json.MAPPER.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(text, e);
    }
  }
}
