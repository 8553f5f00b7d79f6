package dev.sluice.auth;

import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An immutable snapshot of the gateway keys, swapped whole when keys change. {@link #find} looks a presented token up
 * by its public id and compares SHA-256 digests in constant time.
 */
public final class ApiKeys {
  /** The outcome of looking a presented token up. */
  public sealed interface Lookup permits Found, NotFound, Revoked, Expired {}

  /** The token is this key, active. */
  public record Found(ApiKey key) implements Lookup {}

  /** No key has this token (unknown id, or the id is known and the secret is wrong). */
  public record NotFound() implements Lookup {
    static final NotFound INSTANCE = new NotFound();
  }

  /** The token is this key, revoked. */
  public record Revoked(ApiKey key) implements Lookup {}

  /** The token is this key, past its expiry. */
  public record Expired(ApiKey key) implements Lookup {}

  /** A key with its digest decoded and its Found outcome built once, so a lookup allocates only the hash. */
  private record Entry(ApiKey key, byte[] digest, Found found) {}

  private static final ApiKeys EMPTY = new ApiKeys(List.of());

  private final List<ApiKey> all;
  private final Map<String, Entry> byId;

  private ApiKeys(List<ApiKey> sorted) {
    Map<String, Entry> map = new HashMap<>(sorted.size() * 2);
    for (ApiKey k : sorted) {
      if (map.put(k.id(), new Entry(k, HexFormat.of().parseHex(k.sha256Hex()), new Found(k))) != null) {
        throw new IllegalArgumentException("keys: id " + k.id() + " appears twice (ids must be unique; revoke one"
            + " and create a new key)");
      }
    }
    this.all = List.copyOf(sorted);
    this.byId = map;
  }

  /** A snapshot of {@code keys}; IllegalArgumentException when two have the same id. */
  public static ApiKeys of(Collection<ApiKey> keys) {
    List<ApiKey> sorted = new ArrayList<>(keys);
    sorted.forEach(k -> Objects.requireNonNull(k, "key"));
    sorted.sort(Comparator.comparing(ApiKey::createdAt)); // stable: ties keep the given order
    return new ApiKeys(sorted);
  }

  /** No keys. */
  public static ApiKeys empty() {
    return EMPTY;
  }

  /** Every key, revoked and expired ones included, in creation order. */
  public List<ApiKey> all() {
    return all;
  }

  /** The key with this public id, or null. */
  public ApiKey byId(String id) {
    Entry e = id == null ? null : byId.get(id);
    return e == null ? null : e.key();
  }

  public int size() {
    return all.size();
  }

  /** This snapshot plus {@code key}, or with {@code key} replacing the key of the same id. */
  public ApiKeys with(ApiKey key) {
    Objects.requireNonNull(key, "key");
    List<ApiKey> next = new ArrayList<>(all.size() + 1);
    for (ApiKey k : all) {
      if (!k.id().equals(key.id())) next.add(k);
    }
    next.add(key);
    return of(next);
  }

  /** This snapshot with key {@code id} revoked at {@code at}; IllegalArgumentException when there is no such key. */
  public ApiKeys revoke(String id, Instant at) {
    ApiKey key = byId(id);
    if (key == null) {
      throw new IllegalArgumentException("no key with id " + id + " (list keys with `sluice keys list`)");
    }
    return with(key.revoked(at));
  }

  /**
   * Looks up a presented token at {@code nowMillis} (epoch milliseconds). Revocation wins over expiry.
   */
  public Lookup find(String presentedToken, long nowMillis) {
    String id = KeyGenerator.idOf(presentedToken);
    Entry e = id == null ? null : byId.get(id);
    if (e == null) return NotFound.INSTANCE;
    if (!MessageDigest.isEqual(KeyGenerator.sha256(presentedToken), e.digest())) return NotFound.INSTANCE;
    ApiKey key = e.key();
    if (key.revokedAt() != null) return new Revoked(key);
    if (key.expiredAt(nowMillis)) return new Expired(key);
    return e.found();
  }

  @Override
  public String toString() {
    return "ApiKeys" + all;
  }
}
