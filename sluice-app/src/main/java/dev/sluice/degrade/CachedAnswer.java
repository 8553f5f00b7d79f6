package dev.sluice.degrade;

import java.util.Arrays;
import java.util.Objects;

/**
 * A complete successful upstream response, byte for byte: a JSON body, or a whole SSE or NDJSON stream.
 *
 * @param body the bytes; copied on construction, and never to be modified through {@link #body()}
 * @param contentType the upstream's content type
 * @param stream whether {@code body} is a stream of events
 * @param model the model that answered
 * @param storedAtMillis when it was captured (epoch millis, from the same clock the cache reads)
 */
public record CachedAnswer(byte[] body, String contentType, boolean stream, String model, long storedAtMillis) {
  public CachedAnswer {
    body = Objects.requireNonNull(body, "body").clone();
    Objects.requireNonNull(contentType, "contentType");
    Objects.requireNonNull(model, "model");
  }

  /** What the answer costs the cache's byte bound: the body plus its two strings. */
  public int weightBytes() {
    return body.length + contentType.length() + model.length();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CachedAnswer a && stream == a.stream && storedAtMillis == a.storedAtMillis
        && Arrays.equals(body, a.body) && contentType.equals(a.contentType) && model.equals(a.model);
  }

  @Override
  public int hashCode() {
    return Objects.hash(Arrays.hashCode(body), contentType, stream, model, storedAtMillis);
  }

  @Override
  public String toString() {
    return "CachedAnswer[" + body.length + " bytes, " + contentType + ", stream=" + stream + ", model=" + model
        + ", storedAtMillis=" + storedAtMillis + "]";
  }
}
