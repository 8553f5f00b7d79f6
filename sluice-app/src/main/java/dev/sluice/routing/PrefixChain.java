package dev.sluice.routing;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A prompt as a chain of chunk hashes, so "how much of this prompt did that node already see" is a longest common
 * prefix of two chains: chunk {@code i}'s hash covers the model and every byte of chunks {@code 0..i}, so equal hashes
 * at {@code i} mean (up to a 2⁻⁶⁴ collision) equal prompts up to the end of chunk {@code i}.
 *
 * <p>The input is the conversation in canonical order (system, tools, messages; {@code limit/PromptText} reads it in
 * that order) as UTF-8, cut into {@value #CHUNK_BYTES}-byte chunks (about 256 tokens of English or code: coarse
 * enough that a 190 KB agent prompt is ~190 hashes, fine enough that a turn's new text is a few chunks). Only whole
 * chunks are hashed: a partial last chunk is not "cached" anywhere (vLLM caches whole blocks too). The model is the
 * chain's seed, so the same conversation under two models never shares a chunk (affinity is scoped to the model).
 *
 * <p>The hash is a fast non-cryptographic one (four 64-bit multiply-rotate lanes over 32-byte stripes, a murmur3
 * finaliser per chunk): it only needs to tell prompts apart, not resist an adversary (a collision costs one request a
 * wrong prefill estimate). Immutable.
 */
public final class PrefixChain {
  /** Bytes per chunk. */
  public static final int CHUNK_BYTES = 1024;
  /** A chain of no chunks (a prompt shorter than one chunk, or none). */
  public static final PrefixChain EMPTY = new PrefixChain(new long[0], 0);

  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long P1 = 0x9E3779B185EBCA87L;
  private static final long P2 = 0xC2B2AE3D27D4EB4FL;
  private static final long P3 = 0x165667B19E3779F9L;
  private static final long P4 = 0x85EBCA77C2B2AE63L;

  private final long[] hashes;
  private final int totalBytes;

  private PrefixChain(long[] hashes, int totalBytes) {
    this.hashes = hashes;
    this.totalBytes = totalBytes;
  }

  /** The chain of {@code text} (canonical conversation text) under {@code model}. */
  public static PrefixChain of(String model, String text) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(text, "text");
    if ((long) text.length() * 3 < CHUNK_BYTES) { // under one chunk whatever its characters: no bytes to hash
      return new PrefixChain(new long[0], utf8Length(text));
    }
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    return of(model, bytes, bytes.length);
  }

  private static int utf8Length(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      n += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3; // a surrogate pair: 2 + 2
    }
    return n;
  }

  /** The chain of the first {@code length} bytes of {@code utf8} under {@code model}. */
  public static PrefixChain of(String model, byte[] utf8, int length) {
    Objects.checkFromIndexSize(0, length, utf8.length);
    int chunks = length / CHUNK_BYTES;
    long[] hashes = new long[chunks];
    long h = hash(model);
    for (int i = 0; i < chunks; i++) {
      h = chunk(h, utf8, i * CHUNK_BYTES);
      hashes[i] = h;
    }
    return new PrefixChain(hashes, length);
  }

  /** A 64-bit hash of a string (a session key, a model id): the chain's hash over its UTF-8 bytes. */
  public static long hash(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    long h = P3 ^ b.length;
    for (byte x : b) {
      h = Long.rotateLeft(h ^ (x & 0xff) * P1, 31) * P2;
    }
    return fmix(h);
  }

  /**
   * A 64-bit hash of {@code b[from, to)} (a body, a prompt segment): multiply-rotate over 8-byte lanes, the murmur3
   * finaliser (four lanes over 32-byte stripes, as a chunk's hash).
   */
  public static long hash(byte[] b, int from, int to) {
    Objects.checkFromToIndex(from, to, b.length);
    long seed = P3 ^ (to - from);
    long a1 = seed + P1 + P2;
    long a2 = seed + P2;
    long a3 = seed;
    long a4 = seed - P1;
    int i = from;
    for (; i + 32 <= to; i += 32) { // four independent lanes, as a chunk's hash: the multiplies overlap
      a1 = round(a1, (long) LONGS.get(b, i));
      a2 = round(a2, (long) LONGS.get(b, i + 8));
      a3 = round(a3, (long) LONGS.get(b, i + 16));
      a4 = round(a4, (long) LONGS.get(b, i + 24));
    }
    long h = Long.rotateLeft(a1, 1) + Long.rotateLeft(a2, 7) + Long.rotateLeft(a3, 12) + Long.rotateLeft(a4, 18);
    for (; i + 8 <= to; i += 8) h = round(h, (long) LONGS.get(b, i));
    for (; i < to; i++) h = round(h, b[i] & 0xff);
    return fmix(h);
  }

  /** Whole chunks hashed. */
  public int chunks() {
    return hashes.length;
  }

  /** The hash of chunks {@code 0..i}. */
  public long hashAt(int i) {
    return hashes[i];
  }

  /** Bytes of the text the chain was made from (whole chunks and the partial tail). */
  public int totalBytes() {
    return totalBytes;
  }

  /** The share of the prompt's bytes that the first {@code chunks} chunks cover, 0–1. */
  public double share(int chunks) {
    return totalBytes == 0 ? 0 : Math.min(1.0, (double) chunks * CHUNK_BYTES / totalBytes);
  }

  private static long chunk(long seed, byte[] b, int from) {
    long a1 = seed + P1 + P2;
    long a2 = seed + P2;
    long a3 = seed;
    long a4 = seed - P1;
    for (int i = from, end = from + CHUNK_BYTES; i < end; i += 32) {
      a1 = round(a1, (long) LONGS.get(b, i));
      a2 = round(a2, (long) LONGS.get(b, i + 8));
      a3 = round(a3, (long) LONGS.get(b, i + 16));
      a4 = round(a4, (long) LONGS.get(b, i + 24));
    }
    long h = Long.rotateLeft(a1, 1) + Long.rotateLeft(a2, 7) + Long.rotateLeft(a3, 12) + Long.rotateLeft(a4, 18);
    return fmix(h ^ seed * P4);
  }

  private static long round(long acc, long v) {
    return Long.rotateLeft(acc + v * P2, 31) * P1;
  }

  /** The murmur3 64-bit finaliser: every input bit reaches every output bit (the rendezvous scores use it too). */
  static long fmix(long h) {
    h ^= h >>> 33;
    h *= 0xFF51AFD7ED558CCDL;
    h ^= h >>> 33;
    h *= 0xC4CEB9FE1A85EC53L;
    h ^= h >>> 33;
    return h;
  }
}
