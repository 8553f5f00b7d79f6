package dev.sluice.probe;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.sluice.api.NodeDialect;
import dev.sluice.support.Json;
import java.util.EnumSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a node's own answers say about the dialects it serves beyond its configured ones (pure: bodies in, dialects
 * out; the {@link Prober} fetches the bodies): Ollama's {@code GET /api/version} (Anthropic Messages and OpenAI
 * Responses since {@value #OLLAMA_DIALECTS_SINCE}) and vLLM's route list, {@code GET /openapi.json}.
 */
final class DialectDiscovery {
  /** The first Ollama release serving {@code /v1/messages} and {@code /v1/responses}. */
  static final String OLLAMA_DIALECTS_SINCE = "0.14.0";
  /** vLLM's route list is a few hundred KiB; a larger answer is not one, and is not read to its end. */
  static final int MAX_OPENAPI_BYTES = 4 * 1024 * 1024;
  /** {@code 0.14.2}, {@code v0.14.0-rc1}: major, minor and patch; what follows (pre-release, build) is ignored. */
  private static final Pattern VERSION = Pattern.compile("v?(\\d+)\\.(\\d+)(?:\\.(\\d+))?.*");

  private DialectDiscovery() {}

  /** The dialects found and where from, for the log: {@code Ollama 0.14.2}. */
  record Found(Set<NodeDialect> dialects, String source) {
    Found {
      dialects = Set.copyOf(dialects);
    }
  }

  /** From an Ollama {@code /api/version} body ({@code {"version":"0.14.2"}}); null when it names no version. */
  static Found ollamaVersion(String body) {
    String version;
    try {
      version = Json.MAPPER.readTree(body).path("version").asText("");
    } catch (Exception e) {
      return null;
    }
    int[] v = version(version);
    if (v == null) return null;
    boolean recent = compare(v, version(OLLAMA_DIALECTS_SINCE)) >= 0;
    return new Found(recent ? EnumSet.of(NodeDialect.ANTHROPIC, NodeDialect.RESPONSES)
        : EnumSet.noneOf(NodeDialect.class), "Ollama " + version);
  }

  /** Major, minor, patch of {@code s}, or null when it is not a version. */
  static int[] version(String s) {
    Matcher m = VERSION.matcher(s.strip());
    if (!m.matches()) return null;
    try {
      return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
          m.group(3) == null ? 0 : Integer.parseInt(m.group(3))};
    } catch (NumberFormatException e) {
      return null; // more digits than an int
    }
  }

  static int compare(int[] a, int[] b) {
    for (int i = 0; i < 3; i++) {
      if (a[i] != b[i]) return Integer.compare(a[i], b[i]);
    }
    return 0;
  }

  /**
   * From an OpenAPI document's {@code paths} keys (vLLM's {@code /openapi.json}): {@code /v1/messages} → Anthropic
   * Messages, {@code /v1/responses} → OpenAI Responses. Reads the route keys only (the operations are skipped); null
   * when the body is not a JSON object with {@code paths}.
   */
  static Found openApiRoutes(byte[] body) {
    EnumSet<NodeDialect> found = EnumSet.noneOf(NodeDialect.class);
    try (JsonParser p = Json.MAPPER.getFactory().createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) return null;
      boolean sawPaths = false;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (!field.equals("paths") || value != JsonToken.START_OBJECT) {
          p.skipChildren();
          continue;
        }
        sawPaths = true;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String path = p.currentName();
          if (path.contains("/v1/messages")) found.add(NodeDialect.ANTHROPIC);
          if (path.contains("/v1/responses")) found.add(NodeDialect.RESPONSES);
          p.nextToken();
          p.skipChildren();
        }
      }
      return sawPaths ? new Found(found, "routes in /openapi.json") : null;
    } catch (Exception e) {
      return null;
    }
  }
}
