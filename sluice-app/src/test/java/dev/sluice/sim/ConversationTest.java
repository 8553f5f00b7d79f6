package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.sim.GenerationRequest.Endpoint;
import dev.sluice.support.Json;
import org.junit.jupiter.api.Test;

class ConversationTest {
  private static final String MESSAGES = "\"messages\":[{\"role\":\"system\",\"content\":\"terse\"},"
      + "{\"role\":\"user\",\"content\":\"hi\"}";

  @Test
  void keysTheModelRolesAndContentsButNotIdsLimitsOrTheApi() throws Exception {
    long plain = key(Endpoint.OPENAI_CHAT, "{\"model\":\"m\"," + MESSAGES + "]}");

    assertThat(key(Endpoint.OPENAI_CHAT, "{\"model\":\"m\",\"user\":\"u-1\",\"max_tokens\":9,\"stream\":true,"
        + "\"temperature\":0.3," + MESSAGES + "]}")).isEqualTo(plain);
    assertThat(key(Endpoint.OLLAMA_CHAT, "{\"model\":\"m\",\"options\":{\"seed\":4}," + MESSAGES + "]}"))
        .isEqualTo(plain);
    assertThat(key(Endpoint.OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
        + "[{\"type\":\"text\",\"text\":\"ter\"},{\"type\":\"text\",\"text\":\"se\"}]},"
        + "{\"role\":\"user\",\"content\":\"hi\"}]}")).isEqualTo(plain);
    assertThat(key(Endpoint.OPENAI_CHAT, "{\"model\":\"other\"," + MESSAGES + "]}")).isNotEqualTo(plain);
    assertThat(key(Endpoint.OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"terse\"},"
        + "{\"role\":\"user\",\"content\":\"hi\"}]}")).isNotEqualTo(plain);
    assertThat(key(Endpoint.OPENAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"ters\"},"
        + "{\"role\":\"user\",\"content\":\"ehi\"}]}")).isNotEqualTo(plain);
  }

  @Test
  void aContinuedFinalAssistantMessageIsThePartialNotTheConversation() throws Exception {
    long plain = key(Endpoint.OPENAI_CHAT, "{\"model\":\"m\"," + MESSAGES + "]}");
    String partialTail = ",{\"role\":\"assistant\",\"content\":\"the model\"}]";

    Conversation openAi = of(Endpoint.OPENAI_CHAT, "{\"model\":\"m\",\"continue_final_message\":true,"
        + "\"add_generation_prompt\":false," + MESSAGES + partialTail + "}");
    Conversation ollama = of(Endpoint.OLLAMA_CHAT, "{\"model\":\"m\"," + MESSAGES + partialTail + "}");
    Conversation notContinued = of(Endpoint.OPENAI_CHAT, "{\"model\":\"m\"," + MESSAGES + partialTail + "}");

    assertThat(openAi.reading()).isEqualTo(new Conversation.Reading(plain, "the model"));
    assertThat(ollama.reading()).isEqualTo(openAi.reading());
    assertThat(notContinued.reading().partial()).isEmpty();
    assertThat(notContinued.reading().key()).isNotEqualTo(plain);
    assertThatThrownBy(() -> of(Endpoint.OPENAI_CHAT, "{\"model\":\"m\",\"continue_final_message\":true,"
        + "\"add_generation_prompt\":true," + MESSAGES + partialTail + "}"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("continue_final_message");
  }

  @Test
  void aRawPromptIsReadAsItselfAndAsEveryEarlierPromptItsTrailingWordsMayContinue() throws Exception {
    Conversation whole = of(Endpoint.OPENAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"Why?the model 🚀\"}");
    long why = key(Endpoint.OPENAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"Why?\"}");
    long whyThe = key(Endpoint.OPENAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"Why?the \"}");

    assertThat(whole.candidates()).contains(new Conversation.Reading(why, "the model 🚀"),
        new Conversation.Reading(whyThe, "model 🚀"));
    assertThat(whole.reading()).isEqualTo(new Conversation.Reading(
        key(Endpoint.OLLAMA_GENERATE, "{\"model\":\"m\",\"prompt\":\"Why?the model 🚀\"}"), ""));
    assertThat(of(Endpoint.OPENAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"Why? xyz\"}").candidates()).isEmpty();
  }

  private static long key(Endpoint endpoint, String body) throws Exception {
    return of(endpoint, body).reading().key();
  }

  private static Conversation of(Endpoint endpoint, String body) throws Exception {
    JsonNode json = Json.MAPPER.readTree(body);
    return Conversation.of(endpoint, json);
  }
}
