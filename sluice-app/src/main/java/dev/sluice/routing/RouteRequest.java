package dev.sluice.routing;

import java.util.Objects;

/**
 * The facts about a request that routing may use.
 *
 * @param model requested model id
 * @param promptTokens estimated prompt tokens
 * @param expectedOutputTokens max_tokens when given, else the model's typical output length
 * @param ttftBudgetMillis the model's time-to-first-token budget for admission control; 0 = no admission control
 * @param warmth where the request's prompt is estimated to be cached and where its session is pinned
 *     ({@link Warmth#NONE} when affinity is off or nothing is known)
 */
public record RouteRequest(String model, int promptTokens, int expectedOutputTokens, long ttftBudgetMillis,
    Warmth warmth) {
  public RouteRequest {
    Objects.requireNonNull(warmth, "warmth");
  }

  /** A request routed without affinity ({@link Warmth#NONE}). */
  public RouteRequest(String model, int promptTokens, int expectedOutputTokens, long ttftBudgetMillis) {
    this(model, promptTokens, expectedOutputTokens, ttftBudgetMillis, Warmth.NONE);
  }

  /** This request's prompt tokens estimated to be cached on {@code nodeId} (0–promptTokens). */
  public int cachedTokens(String nodeId) {
    return Math.min(Math.max(0, promptTokens), warmth.cachedTokens(nodeId));
  }
}
