package dev.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Each API's error shape (OpenAiDialect, OllamaDialect), complete and as the event that ends a started stream. */
class ErrorShapeTest {
  @Test
  void anOpenAiErrorCarriesMessageTypeParamAndCode() {
    assertThat(ApiFlavor.OPENAI.errorBody(ErrorKind.MISSING_MODEL, "missing \"model\"", "model").toString())
        .isEqualTo("{\"error\":{\"message\":\"missing \\\"model\\\"\",\"type\":\"invalid_request_error\","
            + "\"param\":\"model\",\"code\":\"missing_model\"}}");
    assertThat(ApiFlavor.OPENAI.errorBody(ErrorKind.INVALID_REQUEST, "bad", null).toString())
        .isEqualTo("{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}");
  }

  @Test
  void anOllamaErrorIsTheMessageOnly() {
    assertThat(ApiFlavor.OLLAMA.errorBody(ErrorKind.MISSING_MODEL, "missing \"model\"", "model").toString())
        .isEqualTo("{\"error\":\"missing \\\"model\\\"\"}");
  }

  @Test
  void aStreamEndsWithOneErrorEventInItsApisFraming() {
    assertThat(ApiFlavor.OPENAI.streamErrorEvent(ErrorKind.STREAM_INTERRUPTED, "node lost").toString())
        .isEqualTo("data: {\"error\":{\"message\":\"node lost\",\"type\":\"upstream_error\",\"param\":null,"
            + "\"code\":\"stream_interrupted\"}}\n\n");
    assertThat(ApiFlavor.OLLAMA.streamErrorEvent(ErrorKind.STREAM_INTERRUPTED, "node lost").toString())
        .isEqualTo("{\"error\":\"node lost\"}\n");
  }
}
