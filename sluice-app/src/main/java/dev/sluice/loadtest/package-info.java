/**
 * {@code sluice bench}: a load generator for a running gateway and the report it writes. Start reading at
 * {@link dev.sluice.loadtest.LoadRunner} ({@link dev.sluice.loadtest.AgentRunner} and
 * {@link dev.sluice.loadtest.AgentWorkload} for agent sessions); {@link dev.sluice.loadtest.BenchResult} holds what was
 * measured.
 */
package dev.sluice.loadtest;
