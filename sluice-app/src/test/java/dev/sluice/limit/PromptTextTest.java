package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class PromptTextTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static ObjectNode body(String json) {
    try {
      return (ObjectNode) JSON.readTree(json.replace('\'', '"'));
    } catch (Exception e) {
      throw new IllegalArgumentException(json, e);
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      chat string content          | {'messages':[{'role':'system','content':'Be brief.'},{'role':'user','content':'Hi there'}]} | Be brief.\\nHi there | 2 | 0 | messages
      chat text parts and a name   | {'messages':[{'role':'user','name':'ann','content':[{'type':'text','text':'Look:'},{'type':'image_url','image_url':{'url':'data:x'}}]}]} | Look:\\nann | 1 | 1 | messages
      assistant tool calls         | {'messages':[{'role':'assistant','content':null,'tool_calls':[{'id':'c1','type':'function','function':{'name':'list_nodes','arguments':'{\\'state\\':\\'READY\\'}'}}]}]} | list_nodes\\n{'state':'READY'} | 1 | 0 | messages
      ollama tool call arguments   | {'messages':[{'role':'assistant','content':'','tool_calls':[{'function':{'name':'f','arguments':{'a':1}}}]}]} | f\\n{'a':1} | 1 | 0 | messages
      tools as json                | {'messages':[{'role':'user','content':'q'}],'tools':[{'type':'function','function':{'name':'f'}}]} | [{'type':'function','function':{'name':'f'}}]\\nq | 1 | 0 | messages
      ollama chat images           | {'messages':[{'role':'user','content':'what is this','images':['aGk=','aGk=']}]} | what is this | 1 | 2 | messages
      completions prompt + suffix  | {'prompt':'def add(a, b):','suffix':'return c'} | def add(a, b):\\nreturn c | 0 | 0 | prompt
      completions prompt array     | {'prompt':['one','two']} | one\\ntwo | 0 | 0 | prompt
      ollama generate              | {'prompt':'Why is the sky blue?','system':'Answer as a poet.','images':['aGk=']} | Answer as a poet.\\nWhy is the sky blue? | 0 | 1 | prompt
      embeddings string            | {'input':'embed me'} | embed me | 0 | 0 | input
      embeddings array             | {'input':['a','b']} | a\\nb | 0 | 0 | input
      """)
  void readsTheTextTheModelWillReadFromEveryApi(String what, String json, String text, int messages, int images,
      String param) {
    PromptText prompt = PromptText.of(body(json));

    String expected = text.replace("\\n", "\n").replace('\'', '"');
    assertThat(prompt.text()).isEqualTo(expected);
    assertThat(prompt.param()).isEqualTo(param);
    int overhead = PromptText.TOKENS_PER_MESSAGE * messages + PromptText.TOKENS_PER_REQUEST
        + PromptText.IMAGE_TOKENS * images;
    assertThat(prompt.estimatedTokens()).isEqualTo(TokenEstimator.estimate(expected) + overhead);
    assertThat(prompt.exactTokens()).isEqualTo(TokenEstimator.count(expected) + overhead);
  }

  @Test
  void tokenIdPromptsCountOneTokenPerId() {
    PromptText flat = PromptText.of(body("{'prompt':[1,2,3,4]}"));
    PromptText nested = PromptText.of(body("{'input':[[1,2],[3,4,5]]}"));

    assertThat(flat.exactTokens()).isEqualTo(4 + PromptText.TOKENS_PER_REQUEST);
    assertThat(flat.estimatedTokens()).isEqualTo(4 + PromptText.TOKENS_PER_REQUEST);
    assertThat(nested.exactTokens()).isEqualTo(5 + PromptText.TOKENS_PER_REQUEST);
  }

  @Test
  void theExactCountRunsOnlyWhenAskedAndOnlyOnce() {
    PromptText prompt = PromptText.of(body("{'messages':[{'role':'user','content':'hello world'}]}"));
    assertThat(prompt.exactComputed()).isFalse();

    int first = prompt.exactTokens();

    assertThat(prompt.exactComputed()).isTrue();
    assertThat(prompt.exactTokens()).isEqualTo(first).isEqualTo(2 + 4 + 3);
  }

  @Test
  void anthropicMessagesAreReadFromTheSystemBlocksTextToolUseToolResultsAndThinking() {
    PromptText prompt = PromptText.of(body("{'system':[{'type':'text','text':'You are terse.',"
        + "'cache_control':{'type':'ephemeral'}}],'messages':["
        + "{'role':'user','content':'Find the report.'},"
        + "{'role':'assistant','content':[{'type':'thinking','thinking':'I should search.','signature':'s'},"
        + "{'type':'tool_use','id':'t1','name':'search_files','input':{'q':'report'}}]},"
        + "{'role':'user','content':[{'type':'tool_result','tool_use_id':'t1','content':[{'type':'text',"
        + "'text':'q3.pdf'}]},{'type':'image','source':{'type':'base64','media_type':'image/png','data':'AA=='}}]}]}"));

    assertThat(prompt.text().split("\n")).containsExactlyInAnyOrder(
        "You are terse.", "Find the report.", "I should search.", "search_files", "{\"q\":\"report\"}", "q3.pdf");
    assertThat(prompt.estimatedTokens()).isGreaterThan(3 * PromptText.TOKENS_PER_MESSAGE + PromptText.IMAGE_TOKENS);
  }

  @Test
  void responsesInputItemsAreReadWithTheInstructions() {
    PromptText prompt = PromptText.of(body("{'instructions':'Be brief.','input':["
        + "{'role':'user','content':[{'type':'input_text','text':'Find the report.'}]},"
        + "{'type':'reasoning','summary':[{'type':'summary_text','text':'Search first.'}]},"
        + "{'type':'function_call','call_id':'c1','name':'search_files','arguments':'q=report'},"
        + "{'type':'function_call_output','call_id':'c1','output':'q3.pdf'}]}"));

    assertThat(prompt.text().split("\n")).containsExactlyInAnyOrder(
        "Be brief.", "Find the report.", "Search first.", "search_files", "q=report", "q3.pdf");
    assertThat(prompt.param()).isEqualTo("input");
  }

  @Test
  void ignoresFieldsOfTheWrongShape() {
    PromptText prompt = PromptText.of(body("{'messages':[1,'x',{'content':5}],'prompt':{'a':1},'input':null}"));

    assertThat(prompt.text()).isEmpty();
    assertThat(prompt.estimatedTokens()).isEqualTo(PromptText.TOKENS_PER_MESSAGE + PromptText.TOKENS_PER_REQUEST);
  }

  /**
   * Long prompts are estimated segment by segment, with segments seen before taken from a memo: the figure must be the
   * one-pass figure, for every kind of text, the first time and the second (from the memo), and when a new turn is
   * appended to a prompt seen before.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"english.txt", "chinese.txt", "java.txt", "python.txt", "json.txt", "mixed"})
  void aLongPromptsEstimateIsTheOnePassEstimateWhetherItsSegmentsWereSeenBeforeOrNot(String sample) throws IOException {
    String text = longText(sample);
    assertThat(text.length()).isGreaterThan(PromptText.MEMO_MIN_CHARS);
    int onePass = TokenEstimator.estimate(text) + PromptText.TOKENS_PER_MESSAGE + PromptText.TOKENS_PER_REQUEST;

    assertThat(PromptText.ofText(text).estimatedTokens()).isEqualTo(onePass);
    assertThat(PromptText.ofText(text).estimatedTokens()).as("from the memo").isEqualTo(onePass);
    String longer = text + "\n  next turn: 繁體 \uD83D\uDE00 abcDEFghi\t12345 ...";
    assertThat(PromptText.ofText(longer).estimatedTokens())
        .isEqualTo(TokenEstimator.estimate(longer) + PromptText.TOKENS_PER_MESSAGE + PromptText.TOKENS_PER_REQUEST);
  }

  @Test
  void theEstimateIsAdditiveWhereAWhitespaceRunStartsAfterAWord() throws IOException {
    String text = longText("mixed");
    long whole = TokenEstimator.quarters(text, 0, text.length());
    Random random = new Random(7);
    for (int round = 0; round < 200; round++) {
      int at = random.nextInt(text.length());
      while (at < text.length() && !TokenEstimator.isCut(text, at)) at++;
      if (at == text.length()) continue;
      assertThat(TokenEstimator.quarters(text, 0, at) + TokenEstimator.quarters(text, at, text.length()))
          .as("cut at %d", at).isEqualTo(whole);
    }
  }

  /** The sample repeated past the memo threshold; "mixed" interleaves every sample, emoji and odd whitespace. */
  private static String longText(String sample) throws IOException {
    StringBuilder out = new StringBuilder();
    if (sample.equals("mixed")) {
      for (String s : new String[] {"english.txt", "chinese.txt", "java.txt", "python.txt", "json.txt"}) {
        out.append(resource(s)).append(" \uD83D\uDE80\uD83D\uDE00 \t\r\n\n   x").append('\uD800').append("? ");
      }
    }
    while (out.length() < 3 * PromptText.MEMO_MIN_CHARS) out.append(resource(sample.equals("mixed") ? "json.txt" : sample));
    return out.toString();
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = PromptTextTest.class.getResourceAsStream("/limit/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
