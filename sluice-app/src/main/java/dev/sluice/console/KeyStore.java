package dev.sluice.console;

import dev.sluice.auth.ApiKey;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.flow.Band;
import dev.sluice.limit.Limits;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/** The gateway tokens in force, as the admin API lists, creates and revokes them. */
public interface KeyStore {
  /** Every gateway token in force. */
  List<ApiKey> keys();

  /**
   * Creates a gateway token, saves its hash to the keys file (blocking I/O: call off the event loop) and puts it in
   * force at once.
   *
   * @param weight its fair-share weight, 1 to {@link ApiKey#MAX_WEIGHT}; 0 for the tenant's
   * @param maxBand the highest band its requests may ask for; null for the tenant's
   */
  KeyGenerator.Created createKey(String tenant, Set<String> models, Limits limits, int weight, Band maxBand,
      Instant expiresAt, String note) throws IOException;

  /** Revokes the key with public id {@code id} at once; null when there is none. */
  ApiKey revokeKey(String id) throws IOException;
}
