package dev.sluice.limit;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The bytes held in request bodies that are still arriving, per tenant and in total, and whether the next chunk fits.
 *
 * <p>A body is counted as its bytes arrive (never by the length it announces), so a client that announces 10 MiB and
 * sends nothing holds nothing. Each body being read is one {@link Upload}: {@link Upload#add} counts a chunk or refuses
 * it ({@link Verdict}); {@link Upload#close} gives back everything it counted and is safe to call any number of times,
 * so the reader calls it on every way a body can end (complete, refused, timed out, connection gone).
 *
 * <p>Thread-safe (event loops share one budget); one short lock per chunk. No Vert.x, no Micrometer, no clock.
 */
public final class UploadBudget {
  /** Total by default: an eighth of the heap; the rest serves streams, the response cache (64 MiB) and headroom. */
  public static final long HEAP_DIVISOR = 8;
  /** Per tenant by default: a quarter of the total, so no one tenant can fill it but four busy ones can. */
  public static final long TENANT_DIVISOR = 4;
  /**
   * Retry-After of a refusal: unfinished bodies complete within a round trip or two, or are cut at the body deadline;
   * 1 s is the shortest whole-second Retry-After.
   */
  public static final long RETRY_AFTER_SECONDS = 1;

  /** Whether a chunk fits. */
  public enum Verdict {
    /** Counted. */
    ACCEPTED,
    /** The tenant's unfinished bodies would exceed its share (→ 429). */
    TENANT_FULL,
    /** All unfinished bodies together would exceed the total (→ 503). */
    TOTAL_FULL
  }

  /**
   * The caps in force.
   *
   * @param totalBytes all tenants' unfinished bodies together
   * @param perTenantBytes one tenant's unfinished bodies together
   */
  public record Limits(long totalBytes, long perTenantBytes) {
    public Limits {
      if (totalBytes <= 0 || perTenantBytes <= 0) {
        throw new IllegalArgumentException("upload limits must be positive: total " + totalBytes + ", per tenant "
            + perTenantBytes);
      }
    }

    /**
     * The caps from the configured values (0 = not configured): total defaults to a {@link #HEAP_DIVISOR}th of the
     * heap, per tenant to a {@link #TENANT_DIVISOR}th of the total; both at least one body of the largest allowed size
     * (or nothing could ever be uploaded), and per tenant never above the total.
     */
    public static Limits resolve(long configuredTotal, long configuredPerTenant, long maxBodyBytes, long maxHeapBytes) {
      long body = Math.max(1, maxBodyBytes);
      long total = configuredTotal > 0 ? configuredTotal
          : Math.max(Math.max(1, maxHeapBytes / HEAP_DIVISOR), Math.max(body, configuredPerTenant));
      long perTenant = configuredPerTenant > 0 ? configuredPerTenant : Math.max(total / TENANT_DIVISOR, body);
      return new Limits(total, Math.min(perTenant, total));
    }
  }

  private final Map<String, long[]> byTenant = new HashMap<>();
  private long total;

  /** Starts counting one body of {@code tenant}. */
  public Upload open(String tenant) {
    return new Upload(Objects.requireNonNull(tenant, "tenant"));
  }

  /** Bytes held in unfinished bodies, all tenants. */
  public synchronized long heldBytes() {
    return total;
  }

  /** Bytes held in {@code tenant}'s unfinished bodies. */
  public synchronized long heldBytes(String tenant) {
    long[] held = byTenant.get(tenant);
    return held == null ? 0 : held[0];
  }

  /** Tenants holding bytes now (a tenant whose bodies all ended is forgotten). */
  public synchronized int tenants() {
    return byTenant.size();
  }

  private synchronized Verdict take(String tenant, long bytes, Limits limits) {
    long[] held = byTenant.get(tenant);
    long mine = held == null ? 0 : held[0];
    if (mine + bytes > limits.perTenantBytes()) return Verdict.TENANT_FULL;
    if (total + bytes > limits.totalBytes()) return Verdict.TOTAL_FULL;
    if (held == null) byTenant.put(tenant, held = new long[1]);
    held[0] += bytes;
    total += bytes;
    return Verdict.ACCEPTED;
  }

  private synchronized void give(String tenant, long bytes) {
    long[] held = byTenant.get(tenant);
    if (held == null) return;
    held[0] -= bytes;
    total -= bytes;
    if (held[0] <= 0) byTenant.remove(tenant);
  }

  /** One body being read. Not thread-safe itself: one reader feeds it. */
  public final class Upload {
    private final String tenant;
    private long held;
    private boolean closed;

    private Upload(String tenant) {
      this.tenant = tenant;
    }

    /** Counts {@code bytes} more of this body if they fit under {@code limits}; nothing is counted otherwise. */
    public Verdict add(long bytes, Limits limits) {
      if (closed) throw new IllegalStateException("upload already closed");
      if (bytes <= 0) return Verdict.ACCEPTED;
      Verdict v = take(tenant, bytes, limits);
      if (v == Verdict.ACCEPTED) held += bytes;
      return v;
    }

    /** Bytes this body holds. */
    public long heldBytes() {
      return held;
    }

    /** Gives back everything this body holds; later calls do nothing. */
    public void close() {
      if (closed) return;
      closed = true;
      if (held > 0) give(tenant, held);
      held = 0;
    }
  }
}
