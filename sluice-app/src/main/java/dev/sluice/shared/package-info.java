/**
 * State shared by gateway replicas through Redis (config {@code shared}): {@link dev.sluice.shared.RedisLimitStore}
 * for rate-limit buckets and {@link dev.sluice.shared.RedisSharedCache} for cached answers, both over one
 * {@link dev.sluice.shared.RedisLink}, which falls back to local state while Redis is away. Start with RedisLink.
 */
package dev.sluice.shared;
