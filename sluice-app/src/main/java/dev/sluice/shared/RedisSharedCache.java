package dev.sluice.shared;

import dev.sluice.config.SharedSettings;
import dev.sluice.degrade.CachedAnswer;
import dev.sluice.degrade.SharedCache;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * Cached answers in Redis: {@code SET <keyPrefix>c:<cache key> <value> PX <staleTtl>}, read back with {@code GET}.
 * The cache key starts with the tenant, and the value repeats the whole key, checked on every read: an answer is never
 * served for another key, whatever happens to the stored bytes.
 *
 * <p>A purge, after dropping every {@code <keyPrefix>c:*} key, publishes the purging replica's id on
 * {@code <keyPrefix>purge} ({@link #purgeChannel}); every replica's link listens there ({@link #purgeListener}) and
 * empties its local tier, ignoring its own word (its local tier was emptied before the purge began).
 *
 * <p>Value: {@code "SLC1"}, then big-endian: stream flag (1 byte), storedAtMillis (8), the key, the content type and
 * the model (each 2-byte length + UTF-8), then the body to the end.
 */
public final class RedisSharedCache implements SharedCache {
  private static final byte[] MAGIC = "SLC1".getBytes(StandardCharsets.US_ASCII);

  private final RedisLink link;
  private final String prefix;
  private final String replicaId;
  private final Consumer<String> lookups;
  private final Runnable onFallback;

  /**
   * @param replicaId this replica's id, published with its purges
   * @param lookups told "hit" or "miss" for each answered lookup (a metric)
   * @param onFallback told each time a lookup fails and counts as a miss (a metric)
   */
  public RedisSharedCache(RedisLink link, String replicaId, Consumer<String> lookups, Runnable onFallback) {
    this.link = Objects.requireNonNull(link, "link");
    this.prefix = link.settings().keyPrefix() + "c:";
    this.replicaId = Objects.requireNonNull(replicaId, "replicaId");
    this.lookups = Objects.requireNonNull(lookups, "lookups");
    this.onFallback = Objects.requireNonNull(onFallback, "onFallback");
  }

  @Override
  public CompletionStage<CachedAnswer> get(String key) {
    Objects.requireNonNull(key, "key");
    return link.send(Request.cmd(Command.GET).arg(prefix + key)).map(r -> {
      CachedAnswer answer = r == null ? null : decode(key, r.toBytes());
      lookups.accept(answer == null ? "miss" : "hit");
      return answer;
    }).onFailure(e -> onFallback.run()).toCompletionStage();
  }

  @Override
  public void put(String key, CachedAnswer answer, Duration ttl) {
    store(key, answer, ttl);
  }

  /** How many keys one SCAN step asks for: big enough to purge quickly, small enough never to stall Redis. */
  private static final int PURGE_BATCH = 500;

  /** The channel purges are announced on: {@code <keyPrefix>purge}. */
  public static String purgeChannel(SharedSettings settings) {
    return settings.keyPrefix() + "purge";
  }

  /**
   * What a replica does with a purge announced on {@link #purgeChannel}: runs {@code purgeLocal} with the purging
   * replica's id, unless that is {@code replicaId} itself.
   */
  public static Consumer<String> purgeListener(String replicaId, Consumer<String> purgeLocal) {
    Objects.requireNonNull(replicaId, "replicaId");
    Objects.requireNonNull(purgeLocal, "purgeLocal");
    return origin -> {
      if (!origin.equals(replicaId)) purgeLocal.accept(origin);
    };
  }

  /**
   * SCAN over {@code <keyPrefix>c:*} and UNLINK what it finds, batch by batch (never KEYS, which blocks Redis); then
   * PUBLISH on {@link #purgeChannel}, once Redis holds nothing a replica could fetch back.
   */
  @Override
  public CompletionStage<Purged> purge() {
    return purgeFrom("0", 0).compose(dropped -> link.send(Request.cmd(Command.PUBLISH)
        .arg(purgeChannel(link.settings())).arg(replicaId))
        .map(notified -> new Purged(dropped, notified.toLong()))).toCompletionStage();
  }

  private Future<Long> purgeFrom(String cursor, long dropped) {
    return link.send(Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(prefix + "*").arg("COUNT")
        .arg(PURGE_BATCH)).compose(r -> {
          String next = r.get(0).toString();
          Response keys = r.get(1);
          Future<Long> unlinked = Future.succeededFuture(0L);
          if (keys.size() > 0) {
            Request unlink = Request.cmd(Command.UNLINK);
            for (Response k : keys) unlink.arg(k.toBuffer());
            unlinked = link.send(unlink).map(Response::toLong);
          }
          return unlinked.compose(n -> next.equals("0") ? Future.succeededFuture(dropped + n)
              : purgeFrom(next, dropped + n));
        });
  }

  /** {@link #put}, completing when Redis has stored it. */
  Future<Response> store(String key, CachedAnswer answer, Duration ttl) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(answer, "answer");
    long px = Math.max(1, ttl.toMillis());
    return link.send(Request.cmd(Command.SET).arg(prefix + key).arg(Buffer.buffer(encode(key, answer))).arg("PX")
        .arg(px));
  }

  static byte[] encode(String key, CachedAnswer answer) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(answer.body().length + key.length() + 64);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.write(MAGIC);
      out.writeByte(answer.stream() ? 1 : 0);
      out.writeLong(answer.storedAtMillis());
      writeString(out, key);
      writeString(out, answer.contentType());
      writeString(out, answer.model());
      out.write(answer.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e); // cannot happen: memory
    }
    return bytes.toByteArray();
  }

  /** The answer stored for {@code key}; null when the bytes are not a stored answer or belong to another key. */
  static CachedAnswer decode(String key, byte[] value) {
    if (value == null || value.length < MAGIC.length + 9 || !Arrays.equals(value, 0, MAGIC.length, MAGIC, 0,
        MAGIC.length)) {
      return null;
    }
    int[] at = {MAGIC.length};
    boolean stream = value[at[0]++] == 1;
    long storedAt = 0;
    for (int i = 0; i < 8; i++) storedAt = (storedAt << 8) | (value[at[0]++] & 0xff);
    String storedKey = readString(value, at);
    String contentType = readString(value, at);
    String model = readString(value, at);
    if (storedKey == null || contentType == null || model == null || !storedKey.equals(key)) {
      return null;
    }
    return new CachedAnswer(Arrays.copyOfRange(value, at[0], value.length), contentType, stream, model, storedAt);
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    if (b.length > 0xffff) {
      throw new IllegalArgumentException("cache entry field of " + b.length + " bytes is longer than 65535");
    }
    out.writeShort(b.length);
    out.write(b);
  }

  private static String readString(byte[] value, int[] at) {
    if (at[0] + 2 > value.length) return null;
    int len = ((value[at[0]] & 0xff) << 8) | (value[at[0] + 1] & 0xff);
    at[0] += 2;
    if (at[0] + len > value.length) return null;
    String s = new String(value, at[0], len, StandardCharsets.UTF_8);
    at[0] += len;
    return s;
  }
}
