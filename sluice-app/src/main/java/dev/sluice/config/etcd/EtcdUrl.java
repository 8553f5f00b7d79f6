package dev.sluice.config.etcd;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where a shared config lives: {@code etcd://host1:2379,host2:2379/sluice}, i.e. the client endpoints of the etcd
 * members (tried in order, the next one on failure) and a key prefix ({@code /sluice} when the path is empty). Under
 * the prefix, {@code <prefix>/config} holds the whole config JSON document and {@code <prefix>/keys} the gateway
 * tokens' keys file (ids and SHA-256 hashes only).
 *
 * @param endpoints the members' client URLs, {@code http://host:port}
 * @param prefix the key prefix, starting with '/' and without a trailing '/'
 */
public record EtcdUrl(List<URI> endpoints, String prefix) {
  public static final String SCHEME = "etcd://";
  public static final String DEFAULT_PREFIX = "/sluice";
  /** etcd's registered client port. */
  public static final int DEFAULT_PORT = 2379;
  private static final Pattern HOST_PORT =
      Pattern.compile("[A-Za-z0-9._-]+(:\\d{1,5})?|\\[[0-9A-Fa-f:.]+\\](:\\d{1,5})?");
  private static final String EXAMPLE = "etcd://127.0.0.1:2379,10.0.0.2:2379/sluice";

  public EtcdUrl {
    endpoints = List.copyOf(endpoints);
    Objects.requireNonNull(prefix, "prefix");
    if (endpoints.isEmpty()) throw new IllegalArgumentException("an etcd URL needs at least one endpoint");
  }

  /** True when {@code s} is meant as an etcd URL rather than a file path. */
  public static boolean isEtcd(String s) {
    return s != null && s.startsWith(SCHEME);
  }

  /**
   * Parses {@code etcd://h1:2379,h2:2379/prefix}.
   *
   * @throws IllegalArgumentException naming the bad part and showing the expected form
   */
  public static EtcdUrl parse(String url) {
    Objects.requireNonNull(url, "url");
    if (!url.startsWith(SCHEME)) {
      throw new IllegalArgumentException("\"" + url + "\" is not an etcd URL (expected " + EXAMPLE + ")");
    }
    String rest = url.substring(SCHEME.length());
    int slash = rest.indexOf('/');
    String hosts = slash < 0 ? rest : rest.substring(0, slash);
    String path = slash < 0 ? "" : rest.substring(slash);
    while (path.endsWith("/")) path = path.substring(0, path.length() - 1);
    if (path.isEmpty()) path = DEFAULT_PREFIX;
    if (path.contains("//") || path.contains("?") || path.contains("#") || path.contains(" ")) {
      throw new IllegalArgumentException("\"" + url + "\": the key prefix " + path
          + " may not hold '//', '?', '#' or spaces (expected " + EXAMPLE + ")");
    }
    List<URI> endpoints = new ArrayList<>();
    for (String h : hosts.split(",", -1)) {
      String hp = h.trim();
      if (hp.isEmpty() || !HOST_PORT.matcher(hp).matches()) {
        throw new IllegalArgumentException("\"" + url + "\": \"" + hp + "\" is not host:port (expected " + EXAMPLE
            + ")");
      }
      boolean hasPort = hp.startsWith("[") ? hp.contains("]:") : hp.contains(":");
      URI u = URI.create("http://" + hp + (hasPort ? "" : ":" + DEFAULT_PORT));
      if (u.getPort() < 1 || u.getPort() > 65_535) {
        throw new IllegalArgumentException("\"" + url + "\": port of " + hp + " is out of range 1..65535");
      }
      endpoints.add(u);
    }
    return new EtcdUrl(endpoints, path);
  }

  /** The key holding the config document. */
  public String configKey() {
    return prefix + "/config";
  }

  /** The key holding the keys file (gateway tokens' hashes). */
  public String keysKey() {
    return prefix + "/keys";
  }

  /** Every key of this config lives under this string ({@code <prefix>/}). */
  String keyPrefix() {
    return prefix + "/";
  }

  @Override
  public String toString() {
    return SCHEME + String.join(",", endpoints.stream().map(u -> u.getRawAuthority()).toList()) + prefix;
  }
}
