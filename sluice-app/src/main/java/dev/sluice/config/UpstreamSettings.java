package dev.sluice.config;

import java.util.Objects;

/**
 * Bounds of the per-node HTTP clients and the retry rule.
 *
 * @param maxConnectionsPerNode HTTP/1.1 connections kept per node
 * @param maxWaitQueuePerNode requests waiting for a connection before the node counts as full
 * @param maxAttempts attempts per request on distinct nodes (1 = no retry)
 * @param tls how {@code https://} nodes' certificates are checked
 * @param resumption whether and how often a stream broken after its first byte is continued on another node
 */
public record UpstreamSettings(int maxConnectionsPerNode, int maxWaitQueuePerNode, int maxAttempts, UpstreamTls tls,
    ResumptionSettings resumption) {
  /** A GPU node runs at most a few hundred sequences at once (vLLM max_num_seqs 256). */
  public static final int DEFAULT_MAX_CONNECTIONS_PER_NODE = 256;
  /** Beyond this many waiting requests the node is overloaded; fail fast and fail over instead of queueing. */
  public static final int DEFAULT_MAX_WAIT_QUEUE_PER_NODE = 1024;
  /** First try plus at most 2 retries on other nodes (RELIABILITY.md). */
  public static final int DEFAULT_MAX_ATTEMPTS = 3;

  public UpstreamSettings {
    Objects.requireNonNull(tls, "tls");
    Objects.requireNonNull(resumption, "resumption");
  }

  /** These bounds with the default resumption (on, at most 2 continuations per stream). */
  public UpstreamSettings(int maxConnectionsPerNode, int maxWaitQueuePerNode, int maxAttempts, UpstreamTls tls) {
    this(maxConnectionsPerNode, maxWaitQueuePerNode, maxAttempts, tls, ResumptionSettings.defaults());
  }

  /** The JVM's trust store for https nodes, host names checked. */
  public UpstreamSettings(int maxConnectionsPerNode, int maxWaitQueuePerNode, int maxAttempts) {
    this(maxConnectionsPerNode, maxWaitQueuePerNode, maxAttempts, UpstreamTls.defaults());
  }

  /** These bounds with another TLS rule for https nodes. */
  public UpstreamSettings withTls(UpstreamTls tls) {
    return new UpstreamSettings(maxConnectionsPerNode, maxWaitQueuePerNode, maxAttempts, tls, resumption);
  }

  /** These bounds with another resumption rule. */
  public UpstreamSettings withResumption(ResumptionSettings r) {
    return new UpstreamSettings(maxConnectionsPerNode, maxWaitQueuePerNode, maxAttempts, tls, r);
  }

  public static UpstreamSettings defaults() {
    return new UpstreamSettings(DEFAULT_MAX_CONNECTIONS_PER_NODE, DEFAULT_MAX_WAIT_QUEUE_PER_NODE, DEFAULT_MAX_ATTEMPTS);
  }
}
