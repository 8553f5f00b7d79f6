/**
 * Admission checks before a request goes upstream, pure (no Vert.x, Micrometer or clock reads): rate limits per tenant
 * and per model, and the context-window guard. Start with {@link RateLimiter}, then {@link ContextGuard}.
 */
package dev.sluice.limit;
