package dev.sluice.config.etcd;

import java.io.IOException;

/** No etcd member answered (each endpoint refused, timed out or had no quorum); the message names every endpoint. */
public final class EtcdUnavailableException extends IOException {
  private final String reasons;

  /** @param reasons each endpoint with why it failed: {@code 10.0.0.1:2379 (connection refused), …} */
  public EtcdUnavailableException(String reasons) {
    super("etcd unreachable at " + reasons + ": check that the etcd members run and have a quorum, and the etcd URL");
    this.reasons = reasons;
  }

  /** Each endpoint with why it failed. */
  public String reasons() {
    return reasons;
  }
}
