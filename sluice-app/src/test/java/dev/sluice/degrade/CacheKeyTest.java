package dev.sluice.degrade;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class CacheKeyTest {
  private static final String CHAT = "/v1/chat/completions";
  private static final String BASE = """
      {"model":"qwen3:32b","temperature":0.2,"seed":7,"max_tokens":100,
       "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}],
       "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}]}""";

  @Test
  void keyOrderAtAnyDepthDoesNotChangeTheKey() {
    String reordered = """
        {"tools":[{"function":{"parameters":{"properties":{},"type":"object"},"name":"f"},"type":"function"}],
         "messages":[{"content":"Be brief.","role":"system"},{"content":"Hello","role":"user"}],
         "max_tokens":100,"seed":7,"temperature":0.2,"model":"qwen3:32b"}""";

    assertThat(key(reordered)).isEqualTo(key(BASE));
  }

  @Test
  void volatileTopLevelFieldsDoNotChangeTheKey() {
    ObjectNode body = json(BASE);
    body.put("stream", true);
    body.putObject("stream_options").put("include_usage", true);
    body.put("user", "alice");
    body.putObject("metadata").put("trace", "abc");
    body.put("store", false);
    body.put("keep_alive", "5m");
    body.put("request_id", "r-1");
    body.put("service_tier", "auto");

    assertThat(CacheKey.of("t", CHAT, body)).isEqualTo(key(BASE));
  }

  static Stream<Arguments> realChanges() {
    return Stream.of(
        Arguments.of("message text", "\"Hello\"", "\"Hello!\""),
        Arguments.of("message role", "\"role\":\"system\"", "\"role\":\"user\""),
        Arguments.of("temperature", "0.2", "0.3"),
        Arguments.of("seed", "\"seed\":7", "\"seed\":8"),
        Arguments.of("model", "qwen3:32b", "qwen2:7b"),
        Arguments.of("max_tokens", "100", "101"),
        Arguments.of("tool name", "\"name\":\"f\"", "\"name\":\"g\""),
        Arguments.of("message order", "{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hello\"}",
            "{\"role\":\"user\",\"content\":\"Hello\"},{\"role\":\"system\",\"content\":\"Be brief.\"}"),
        Arguments.of("a nested field named like a volatile one", "\"properties\":{}",
            "\"properties\":{\"stream\":{\"type\":\"boolean\"}}"));
  }

  @ParameterizedTest(name = "changing the {0} changes the key")
  @MethodSource("realChanges")
  void anyRealChangeChangesTheKey(String what, String from, String to) {
    assertThat(BASE).contains(from);

    assertThat(key(BASE.replace(from, to))).isNotEqualTo(key(BASE));
  }

  @Test
  void addingAnOptionChangesTheKey() {
    ObjectNode body = json(BASE);
    body.putObject("options").put("num_ctx", 8192);

    assertThat(CacheKey.of("t", CHAT, body)).isNotEqualTo(key(BASE));
  }

  @Test
  void twoTenantsNeverShareAKeyAndTheKeyStartsWithTheTenant() {
    String a = CacheKey.of("team-a", CHAT, json(BASE));
    String b = CacheKey.of("team-b", CHAT, json(BASE));

    assertThat(a).isNotEqualTo(b).startsWith("team-a\n" + CHAT + "\n");
    assertThat(b).startsWith("team-b\n");
    assertThat(a.substring(a.lastIndexOf('\n') + 1)).hasSize(64).matches("[0-9a-f]+");
  }

  @Test
  void theSameBodyOnAnotherEndpointHasAnotherKey() {
    assertThat(CacheKey.of("t", "/api/chat", json(BASE))).isNotEqualTo(key(BASE));
  }

  @Test
  void aTenantWithANewlineIsRefusedSoKeysCannotCollide() {
    assertThatThrownBy(() -> CacheKey.of("a\n/v1", CHAT, json(BASE)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("newline");
  }

  private static String key(String body) {
    return CacheKey.of("t", CHAT, json(body));
  }

  private static ObjectNode json(String body) {
    try {
      return (ObjectNode) Json.MAPPER.readTree(body);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
