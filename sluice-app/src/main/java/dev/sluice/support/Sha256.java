package dev.sluice.support;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256 digests, one per thread: looking the algorithm up in the provider list costs more than hashing a request. */
public final class Sha256 {
  private static final ThreadLocal<MessageDigest> DIGEST = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e); // every JDK must provide it
    }
  });

  private Sha256() {}

  /** This thread's digest, reset and ready for input. Do not keep it across calls. */
  public static MessageDigest digest() {
    MessageDigest d = DIGEST.get();
    d.reset();
    return d;
  }
}
