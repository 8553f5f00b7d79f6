package dev.sluice.support;

import java.util.concurrent.ThreadLocalRandom;

/** Random ids in lower-case hex: request ids, W3C trace and span ids. Fast, not secret (never a credential). */
public final class Ids {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private Ids() {}

  /** 16 hex digits (64 random bits), never all zero: a request id or a W3C span id. */
  public static String hex16() {
    long v;
    do {
      v = ThreadLocalRandom.current().nextLong();
    } while (v == 0);
    char[] out = new char[16];
    write(v, out, 0);
    return new String(out);
  }

  /** 32 hex digits (128 random bits), never all zero: a W3C trace id. */
  public static String hex32() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi = r.nextLong();
    long lo;
    do {
      lo = r.nextLong();
    } while (lo == 0);
    char[] out = new char[32];
    write(hi, out, 0);
    write(lo, out, 16);
    return new String(out);
  }

  private static void write(long v, char[] out, int at) {
    for (int i = 15; i >= 0; i--) {
      out[at + i] = HEX[(int) (v & 0xf)];
      v >>>= 4;
    }
  }
}
