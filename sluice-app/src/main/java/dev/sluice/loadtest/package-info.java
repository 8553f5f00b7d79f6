/**
 * {@code sluice bench}: a load generator for a running gateway and the report it writes. Start reading at
 * {@link dev.sluice.loadtest.LoadRunner}; {@link dev.sluice.loadtest.BenchResult} holds what was measured.
 */
package dev.sluice.loadtest;
