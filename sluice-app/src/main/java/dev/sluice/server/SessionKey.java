package dev.sluice.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.MultiMap;
import java.util.List;

/**
 * The session a request belongs to, as its client says it: an explicit session header first ({@link #HEADERS}, in
 * order), then the body's OpenAI {@code prompt_cache_key}, Anthropic {@code metadata.user_id}, then OpenAI
 * {@code user}. Null when the request names none: it is then known by its prompt prefix alone. The id is caller
 * input: blanks are ignored and it is cut to {@link #MAX_CHARS}. Routing scopes it to the model
 * ({@code Affinity.sessionKey(model, id)}).
 */
final class SessionKey {
  /**
   * Session headers, first found wins, as agent clients send them (docs/operations.md, and the nginx hash in
   * deploy/nginx, list the same): Sluice's own; Claude Code's (2.1.86 and later); OpenAI Codex CLI's {@code session-id}
   * (0.131 and later) and {@code session_id} (earlier); OpenCode's {@code x-session-affinity}. One list, so it is
   * adjusted in one place.
   */
  static final List<String> HEADERS = List.of("x-session-id", "x-claude-code-session-id", "session-id", "session_id",
      "x-session-affinity");
  /** Longest id used; the rest is cut (two ids equal in their first 256 characters share a session). */
  static final int MAX_CHARS = 256;

  private SessionKey() {}

  /** The session id of a request with these headers and this body; null when it names none. */
  static String of(MultiMap headers, ObjectNode body) {
    for (String name : HEADERS) {
      String id = bounded(headers.get(name));
      if (id != null) return id;
    }
    if (body == null) return null;
    String id = bounded(text(body.get("prompt_cache_key")));
    if (id != null) return id;
    JsonNode metadata = body.get("metadata");
    if (metadata != null && metadata.isObject()) {
      id = bounded(text(metadata.get("user_id")));
      if (id != null) return id;
    }
    return bounded(text(body.get("user")));
  }

  private static String text(JsonNode v) {
    return v != null && v.isTextual() ? v.asText() : null;
  }

  private static String bounded(String id) {
    if (id == null || id.isBlank()) return null;
    return id.length() > MAX_CHARS ? id.substring(0, MAX_CHARS) : id;
  }
}
