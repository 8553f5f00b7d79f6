package dev.sluice.server;

import dev.sluice.config.SluiceConfig;
import java.util.Objects;

/**
 * One config and the router built from it, swapped together on a reload. A request takes the snapshot current when it
 * arrives and uses it for every attempt (the requested model, then its downgrade target), so a reload in between never
 * routes one attempt by one config and the next by another.
 */
record ConfigSnapshot(SluiceConfig config, Router router) {
  ConfigSnapshot {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(router, "router");
  }
}
