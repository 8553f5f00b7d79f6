package dev.sluice.sim;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/** The wire format of one generation endpoint: stream events and the non-streaming body. */
interface GenerationFormat {
  /** Content type of a streamed response. */
  String streamContentType();

  /** Events sent just before the first token (the OpenAI role chunk), possibly none. */
  List<String> head(Generation generation);

  /** The event carrying output token {@code index}. */
  String token(Generation generation, int index);

  /** Events after the last token: final chunk or line, usage, end marker. */
  List<String> tail(Generation generation, Timings timings);

  /** The whole answer of a non-streaming request. */
  ObjectNode whole(Generation generation, Timings timings);

  /** {@code text} as a JSON string literal, quotes included. */
  static String quote(String text) {
    return '"' + new String(JsonStringEncoder.getInstance().quoteAsString(text)) + '"';
  }
}
