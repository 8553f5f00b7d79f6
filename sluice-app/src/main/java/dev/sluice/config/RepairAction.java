package dev.sluice.config;

import java.net.URI;

/**
 * What to run when a node turns DEGRADED (self-healing): a shell command (run with {@code SLUICE_NODE_ID},
 * {@code SLUICE_NODE_URL} and {@code SLUICE_NODE_REASON} in its environment, e.g. {@code deploy/healthcheck.sh}) and/or
 * an HTTP webhook (POSTed a JSON event). At least one is set.
 *
 * @param command shell command, run with {@code /bin/sh -c}; null when absent
 * @param webhook URL to POST; null when absent
 */
public record RepairAction(String command, URI webhook) {}
