package dev.sluice.config.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.auth.ApiKeys;
import dev.sluice.auth.KeyFile;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.support.Json;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Blocking access to a shared config in etcd for the CLI ({@code sluice config}, {@code sluice keys --etcd},
 * {@code sluice onboard --etcd}): read, and change by compare-and-swap on the key's mod_revision so two operators'
 * changes never overwrite each other. Every write is validated first; nothing invalid reaches etcd.
 *
 * <p>Endpoints are tried in order, starting with the last one that answered; one that refuses, times out or has no
 * quorum is skipped. When none answers the call fails with an {@link EtcdUnavailableException} naming them all.
 */
public final class EtcdConfigStore implements AutoCloseable {
  /** A member on loopback or a LAN connects in milliseconds; 2 s leaves room for a loaded host. */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
  /** etcd answers a linearizable read or a txn within its own 5 s election timeout or fails; wait a bit less. */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(4);
  /** Compare-and-swap retries when another writer changed the key in between: each one re-reads and re-applies. */
  static final int MAX_CAS_ATTEMPTS = 20;

  private final EtcdUrl url;
  private final HttpClient http;
  private volatile int preferred;

  /**
   * A config as stored in etcd.
   *
   * @param text the value, exactly as written
   * @param modRevision the etcd revision of its last change
   */
  public record Document(String text, long modRevision) {
    public Document {
      Objects.requireNonNull(text, "text");
    }
  }

  private EtcdConfigStore(EtcdUrl url) {
    this.url = url;
    this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).version(HttpClient.Version.HTTP_1_1).build();
  }

  /** A store for {@code etcdUrl} ({@code etcd://h1:2379,h2:2379/sluice}); connects lazily, on the first call. */
  public static EtcdConfigStore open(String etcdUrl) {
    return new EtcdConfigStore(EtcdUrl.parse(etcdUrl));
  }

  public static EtcdConfigStore open(EtcdUrl url) {
    return new EtcdConfigStore(Objects.requireNonNull(url, "url"));
  }

  public EtcdUrl url() {
    return url;
  }

  /** The config document at {@code <prefix>/config}; empty when none was pushed. */
  public Optional<Document> read() throws IOException {
    return get(url.configKey());
  }

  /** The keys file at {@code <prefix>/keys}; empty when none was written. */
  public Optional<Document> readKeys() throws IOException {
    return get(url.keysKey());
  }

  /** The gateway tokens at {@code <prefix>/keys} (none when the key is absent). */
  public ApiKeys keys() throws IOException {
    Optional<Document> d = readKeys();
    return d.isEmpty() ? ApiKeys.empty() : KeyFile.parse(d.get().text(), "etcd " + url.keysKey() + ": ");
  }

  /**
   * Writes {@code configText} (and {@code keysText} when not null) in one transaction, after validating both.
   *
   * @return the etcd revision of the write
   * @throws ConfigException with the problems when the config is invalid; nothing is written
   * @throws IOException when the keys text is invalid or etcd cannot be reached
   */
  public long push(String configText, String keysText) throws ConfigException, IOException {
    validate(configText);
    if (keysText != null) KeyFile.parse(keysText, "keys file: ");
    List<String[]> puts = new ArrayList<>();
    puts.add(new String[] {url.configKey(), configText});
    if (keysText != null) puts.add(new String[] {url.keysKey(), keysText});
    JsonNode r = post(EtcdJson.TXN, EtcdJson.txn(List.of(), puts));
    return EtcdJson.revision(r);
  }

  /**
   * Read-modify-write of the config document: {@code change} gets a copy of the current document (it may change it in
   * place and return it), the result is validated and written if nobody changed the document in between; otherwise
   * the whole step is repeated on the newer document.
   *
   * @return the etcd revision of the write (the current one when {@code change} changed nothing)
   * @throws ConfigException when no config was pushed yet, or with the problems when the result is invalid
   */
  public long update(UnaryOperator<ObjectNode> change) throws ConfigException, IOException {
    Objects.requireNonNull(change, "change");
    for (int attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      Optional<Document> current = read();
      if (current.isEmpty()) {
        throw new ConfigException(List.of("etcd: no config at " + url.configKey() + " in " + url
            + " (push one first: sluice config push --file sluice.json --etcd " + url + ")"));
      }
      JsonNode tree = Json.MAPPER.readTree(current.get().text());
      if (!(tree instanceof ObjectNode obj)) {
        throw new ConfigException(List.of("etcd: " + url.configKey() + " is not a JSON object (push a valid config "
            + "with sluice config push --file sluice.json --etcd " + url + ")"));
      }
      ObjectNode changed = change.apply(obj.deepCopy());
      String text = Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(changed);
      if (changed.equals(obj)) return current.get().modRevision();
      validate(text);
      Long rev = compareAndPut(url.configKey(), current.get().modRevision(), text);
      if (rev != null) return rev;
    }
    throw new IOException("etcd: " + url.configKey() + " changed under every one of " + MAX_CAS_ATTEMPTS
        + " attempts (another writer is busy); try again");
  }

  /** Read-modify-write of the gateway tokens at {@code <prefix>/keys}, like {@link #update}. */
  public long updateKeys(UnaryOperator<ApiKeys> change) throws IOException {
    Objects.requireNonNull(change, "change");
    for (int attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      Optional<Document> current = readKeys();
      ApiKeys before = current.isEmpty() ? ApiKeys.empty()
          : KeyFile.parse(current.get().text(), "etcd " + url.keysKey() + ": ");
      String text = KeyFile.toText(change.apply(before));
      Long rev = compareAndPut(url.keysKey(), current.map(Document::modRevision).orElse(0L), text);
      if (rev != null) return rev;
    }
    throw new IOException("etcd: " + url.keysKey() + " changed under every one of " + MAX_CAS_ATTEMPTS
        + " attempts (another writer is busy); try again");
  }

  /** Every key under the prefix, read at one revision. */
  EtcdJson.Range snapshot() throws IOException {
    return EtcdJson.range(post(EtcdJson.RANGE, EtcdJson.rangePrefix(url.keyPrefix())));
  }

  /** Checks {@code text} as the gateway will when it reads it from etcd. */
  public ConfigLoader.Result validate(String text) throws ConfigException {
    return ConfigLoader.parseDetailed(text, EtcdConfigSource.sourceName(url));
  }

  /** Puts {@code value} if {@code key}'s mod_revision is still {@code modRevision}; null when it was not. */
  private Long compareAndPut(String key, long modRevision, String value) throws IOException {
    JsonNode r = post(EtcdJson.TXN,
        EtcdJson.txn(List.<String[]>of(new String[] {key, Long.toString(modRevision)}),
            List.<String[]>of(new String[] {key, value})));
    return EtcdJson.succeeded(r) ? EtcdJson.revision(r) : null;
  }

  private Optional<Document> get(String key) throws IOException {
    EtcdJson.Range r = EtcdJson.range(post(EtcdJson.RANGE, EtcdJson.rangeKey(key)));
    EtcdJson.KeyValue kv = r.get(key);
    return kv == null ? Optional.empty() : Optional.of(new Document(kv.value(), kv.modRevision()));
  }

  /** POSTs {@code body} to the first endpoint that answers 200, starting with the preferred one. */
  private JsonNode post(String path, String body) throws IOException {
    List<String> failures = new ArrayList<>();
    int n = url.endpoints().size();
    int start = preferred;
    for (int i = 0; i < n; i++) {
      int idx = (start + i) % n;
      URI endpoint = url.endpoints().get(idx);
      HttpRequest request = HttpRequest.newBuilder(endpoint.resolve(path)).timeout(REQUEST_TIMEOUT)
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
      try {
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
          failures.add(hostPort(endpoint) + " (HTTP " + r.statusCode() + ": " + errorOf(r.body()) + ")");
          continue;
        }
        preferred = idx;
        return EtcdJson.parse(r.body(), hostPort(endpoint) + path);
      } catch (HttpTimeoutException e) {
        failures.add(hostPort(endpoint) + " (timed out)");
      } catch (ConnectException e) {
        failures.add(hostPort(endpoint) + " (connection refused)");
      } catch (IOException e) {
        failures.add(hostPort(endpoint) + " (" + e + ")");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while waiting for etcd");
      }
    }
    throw new EtcdUnavailableException(String.join(", ", failures));
  }

  private static String errorOf(String body) {
    try {
      JsonNode n = Json.MAPPER.readTree(body);
      return n.path("message").asText(EtcdJson.cut(body));
    } catch (IOException e) {
      return EtcdJson.cut(body);
    }
  }

  static String hostPort(URI u) {
    return u.getHost() + ":" + u.getPort();
  }

  @Override
  public void close() {
    // java.net.http.HttpClient (Java 17) has no close: its idle connections end with the client's collection.
  }
}
