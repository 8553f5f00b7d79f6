package dev.sluice.auth;

import java.util.Objects;

/**
 * A request that did not authenticate: a normal outcome, so no stack trace is captured. The message is shown to the
 * client and never contains the presented token or any key material.
 */
public final class AuthException extends RuntimeException {
  /** Why authentication failed; the HTTP layer maps MISSING and INVALID to 401, FORBIDDEN to 403. */
  public enum Reason { MISSING, INVALID, FORBIDDEN }

  private final Reason reason;

  public AuthException(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  static AuthException invalid(String message) {
    return new AuthException(Reason.INVALID, message);
  }

  public Reason reason() {
    return reason;
  }
}
