package dev.sluice.onboard;

import java.util.Objects;

/**
 * A node registered by a {@link NodeRegistrar}.
 *
 * @param provider the provider (of the gateway's config) the node joined
 * @param note what the operator should know about how long it stays registered, for the progress line
 * @param state the node's state in the router right after registering ({@code STARTING}), or null when the router
 *     shows it later (a config reload)
 * @param reason the router's reason for that state, or null
 */
public record Registration(String provider, String note, String state, String reason) {
  public Registration {
    Objects.requireNonNull(provider, "provider");
    Objects.requireNonNull(note, "note");
  }
}
