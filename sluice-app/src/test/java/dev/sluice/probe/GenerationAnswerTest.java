package dev.sluice.probe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.api.ApiFlavor;
import org.junit.jupiter.api.Test;

/** Reading a streamed generation probe's answer, whole or cut anywhere by the deadline. */
class GenerationAnswerTest {
  private static final String OLLAMA = """
      {"model":"m","response":"Po","done":false}
      {"model":"m","response":"ng","done":false}
      {"model":"m","response":"!","done":false}
      {"model":"m","response":"","done":true,"done_reason":"length","eval_count":3}
      """;
  private static final String OPENAI = """
      data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}

      data: {"choices":[{"index":0,"delta":{"content":"Po"}}]}

      data: {"choices":[{"index":0,"delta":{"content":"ng"}}]}

      data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}

      data: [DONE]

      """;

  @Test
  void aCompleteStreamPassesWithItsTokensCounted() {
    assertThat(GenerationAnswer.read(ApiFlavor.OLLAMA, OLLAMA)).isEqualTo(new GenerationAnswer(3, true, null));
    assertThat(GenerationAnswer.read(ApiFlavor.OPENAI, OPENAI)).isEqualTo(new GenerationAnswer(2, true, null));
    assertThat(GenerationAnswer.read(ApiFlavor.OLLAMA, OLLAMA).failure(false, 300)).isNull();
  }

  @Test
  void aStreamCutAtAnyByteBeforeItsFinalEventIsNeverComplete() {
    for (var c : new Object[][] {{ApiFlavor.OLLAMA, OLLAMA, OLLAMA.indexOf("\n", OLLAMA.indexOf("\"done\":true"))},
        {ApiFlavor.OPENAI, OPENAI, OPENAI.indexOf("[DONE]") + 6}}) {
      ApiFlavor api = (ApiFlavor) c[0];
      String body = (String) c[1];
      int finalEventEnds = (int) c[2];
      int lastTokens = -1;
      for (int cut = 0; cut <= body.length(); cut++) {
        GenerationAnswer a = GenerationAnswer.read(api, body.substring(0, cut));
        assertThat(a.complete()).as(api + " cut at " + cut).isEqualTo(cut >= finalEventEnds);
        assertThat(a.tokens()).as(api + " tokens never go back, cut at " + cut).isGreaterThanOrEqualTo(lastTokens);
        lastTokens = a.tokens();
      }
    }
  }

  @Test
  void whatFailsTheProbeIsNamedWithTheTokensThatCame() {
    String stalled = OLLAMA.lines().limit(2).map(l -> l + "\n").reduce("", String::concat);
    assertThat(GenerationAnswer.read(ApiFlavor.OLLAMA, stalled).failure(true, 300))
        .isEqualTo("stalled after 2 tokens, no complete answer within 300 ms");
    assertThat(GenerationAnswer.read(ApiFlavor.OLLAMA, "").failure(true, 300)).isEqualTo("timeout after 300 ms");
    assertThat(GenerationAnswer.read(ApiFlavor.OLLAMA, stalled).failure(false, 300))
        .isEqualTo("the answer ended after 2 tokens without its final event");
    assertThat(GenerationAnswer.read(ApiFlavor.OLLAMA, stalled + "{\"error\":\"CUDA error: out of memory\"}\n")
        .failure(false, 300)).isEqualTo("error in the answer after 2 tokens: CUDA error: out of memory");
    assertThat(GenerationAnswer.read(ApiFlavor.OPENAI,
        "data: {\"error\":{\"message\":\"engine dead\",\"type\":\"server_error\"}}\n\n").failure(false, 300))
        .isEqualTo("error in the answer after 0 tokens: engine dead");
  }
}
