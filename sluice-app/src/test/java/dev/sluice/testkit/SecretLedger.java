package dev.sluice.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The secrets the security tests use and everything the gateway showed them (response bodies and headers, metrics,
 * admin views, console pages), so the last test can check that no secret ever came back out.
 */
public final class SecretLedger {
  private static final Set<String> SECRETS = ConcurrentHashMap.newKeySet();
  private static final ConcurrentLinkedQueue<String[]> EXPORTS = new ConcurrentLinkedQueue<>();

  private SecretLedger() {}

  /** Remembers {@code secret} (a gateway token, a JWT, an admin token, an upstream API key, an HMAC secret). */
  public static String secret(String secret) {
    SECRETS.add(secret);
    return secret;
  }

  /** Remembers something the gateway exported or answered. */
  public static void export(String what, String text) {
    EXPORTS.add(new String[] {what, text == null ? "" : text});
  }

  public static Set<String> secrets() {
    return Set.copyOf(SECRETS);
  }

  /** {what, text} pairs. */
  public static List<String[]> exports() {
    return new ArrayList<>(EXPORTS);
  }
}
