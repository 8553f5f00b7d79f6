package dev.sluice.support;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.concurrent.ConcurrentHashMap;

/** The one ObjectMapper of Sluice. Strict on input: duplicate keys, trailing tokens and deep nesting are errors. */
public final class Json {
  /** Maximum nesting depth of any JSON document Sluice parses (requests and config). */
  public static final int MAX_NESTING_DEPTH = 64;

  public static final ObjectMapper MAPPER = strict(MAX_NESTING_DEPTH);

  /** Mappers for request bodies with another depth limit (server.maxJsonDepth), one per distinct limit. */
  private static final ConcurrentHashMap<Integer, ObjectMapper> BY_DEPTH =
      new ConcurrentHashMap<>();

  private Json() {}

  /** The strict mapper with {@code maxDepth} as its nesting limit ({@link #MAPPER} for the default). */
  public static ObjectMapper withMaxDepth(int maxDepth) {
    return maxDepth == MAX_NESTING_DEPTH ? MAPPER : BY_DEPTH.computeIfAbsent(maxDepth, Json::strict);
  }

  private static ObjectMapper strict(int maxDepth) {
    return JsonMapper.builder(
            JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(maxDepth).build())
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .build())
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .build();
  }
}
