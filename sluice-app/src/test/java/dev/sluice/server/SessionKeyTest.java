package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import io.vertx.core.MultiMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Where a request's session id is read from, in order. */
class SessionKeyTest {
  private static ObjectNode body(String json) throws Exception {
    return (ObjectNode) Json.MAPPER.readTree(json.replace('\'', '"'));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      x-session-id             | s-1
      x-claude-code-session-id | 5d1c-claude
      session-id               | codex-9
      session_id               | codex-7
      x-session-affinity       | aff-3
      X-Session-Id             | upper
      """)
  void eachSessionHeaderAgentClientsSendIsRead(String header, String id) throws Exception {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap().add(header, id);
    assertThat(SessionKey.of(headers, body("{'user': 'u'}"))).isEqualTo(id);
  }

  @Test
  void theExplicitHeaderWinsThenPromptCacheKeyThenAnthropicUserIdThenUser() throws Exception {
    MultiMap none = MultiMap.caseInsensitiveMultiMap();
    ObjectNode all = body("{'prompt_cache_key': 'pck', 'metadata': {'user_id': 'meta'}, 'user': 'u'}");
    assertThat(SessionKey.of(MultiMap.caseInsensitiveMultiMap().add("session_id", "h").add("x-session-id", "x"), all))
        .isEqualTo("x");
    assertThat(SessionKey.of(none, all)).isEqualTo("pck");
    assertThat(SessionKey.of(none, body("{'metadata': {'user_id': 'meta'}, 'user': 'u'}"))).isEqualTo("meta");
    assertThat(SessionKey.of(none, body("{'user': 'u'}"))).isEqualTo("u");
    assertThat(SessionKey.of(none, body("{'model': 'm'}"))).isNull();
  }

  @Test
  void blankAndNonTextIdsAreIgnoredAndLongOnesCut() throws Exception {
    MultiMap blank = MultiMap.caseInsensitiveMultiMap().add("x-session-id", "  ");
    assertThat(SessionKey.of(blank, body("{'prompt_cache_key': 7, 'metadata': 'x', 'user': 'u'}"))).isEqualTo("u");
    String huge = "s".repeat(10_000);
    assertThat(SessionKey.of(MultiMap.caseInsensitiveMultiMap().add("x-session-id", huge), null))
        .hasSize(SessionKey.MAX_CHARS);
  }

  @Test
  void theAffinityHeaderSaysTheCachedShareWithTwoDecimals() {
    assertThat(RoutedRequest.twoDecimals(0)).isEqualTo("0.00");
    assertThat(RoutedRequest.twoDecimals(0.05)).isEqualTo("0.05");
    assertThat(RoutedRequest.twoDecimals(0.934)).isEqualTo("0.93");
    assertThat(RoutedRequest.twoDecimals(0.999)).isEqualTo("1.00");
    assertThat(RoutedRequest.twoDecimals(1.5)).isEqualTo("1.00");
  }
}
