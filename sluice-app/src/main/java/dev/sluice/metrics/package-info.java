/** Metrics: every meter name in {@link dev.sluice.metrics.SluiceMetrics}, exported as Prometheus text on /metrics. */
package dev.sluice.metrics;
