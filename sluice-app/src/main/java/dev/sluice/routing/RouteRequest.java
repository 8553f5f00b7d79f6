package dev.sluice.routing;

/**
 * The facts about a request that routing may use.
 *
 * @param model requested model id
 * @param promptTokens estimated prompt tokens
 * @param expectedOutputTokens max_tokens when given, else the model's typical output length
 * @param ttftBudgetMillis the model's time-to-first-token budget for admission control; 0 = no admission control
 */
public record RouteRequest(String model, int promptTokens, int expectedOutputTokens, long ttftBudgetMillis) {}
