package dev.sluice.onboard;

/**
 * An onboarding step failed for a reason the operator can fix; the message names what was wrong and the fix. Unchecked
 * so that config edits can throw it from inside a {@code UnaryOperator} (the etcd store's read-modify-write).
 */
public final class OnboardException extends RuntimeException {
  public OnboardException(String message) {
    super(message);
  }
}
