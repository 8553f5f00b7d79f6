package dev.sluice.server;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The one owner of "the client's address": the TCP peer, or, when the peer is a proxy listed in
 * {@code server.trustedProxies}, the address that proxy reports ({@code X-Real-IP}, else the last
 * {@code X-Forwarded-For} entry: the one the proxy itself added). A client's own headers count for nothing unless its
 * peer is trusted, so a client cannot pick its address. Used where Sluice acts per client (the backoff after failed
 * credentials); never for authorisation.
 */
public final class ClientAddress {
  /** A dotted IPv4 literal: only these (and IPv6 literals) are parsed, so a header never triggers a DNS lookup. */
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");
  private static final String UNKNOWN = "unknown";

  private record Range(byte[] network, int bits) {}

  private final List<Range> trusted;

  /** @param trustedProxies CIDR ranges ({@code "10.0.0.0/8"}, {@code "::1/128"}); validate with {@link #validCidr} */
  ClientAddress(List<String> trustedProxies) {
    List<Range> ranges = new ArrayList<>();
    for (String cidr : trustedProxies) ranges.add(parse(cidr));
    this.trusted = List.copyOf(ranges);
  }

  /** The client's address as text ({@code 203.0.113.7}, {@code 2001:db8:0:0:0:0:0:1}). */
  String of(HttpServerRequest req) {
    SocketAddress peer = req.remoteAddress();
    String host = peer == null ? null : peer.hostAddress();
    if (host == null || host.isEmpty()) return UNKNOWN;
    if (trusted.isEmpty()) return host;
    InetAddress peerIp = literal(host);
    if (peerIp == null || !isTrusted(peerIp)) return host;
    InetAddress reported = literal(req.getHeader("X-Real-IP"));
    if (reported == null) reported = literal(lastEntry(req.getHeader("X-Forwarded-For")));
    return reported == null ? host : reported.getHostAddress();
  }

  /** Whether {@code req}'s TCP peer is a trusted proxy (whose headers name the client). */
  boolean trustsPeer(HttpServerRequest req) {
    if (trusted.isEmpty()) return false;
    SocketAddress peer = req.remoteAddress();
    InetAddress ip = peer == null ? null : literal(peer.hostAddress());
    return ip != null && isTrusted(ip);
  }

  /**
   * The key the failure backoff counts under: the address itself for IPv4, its /64 for IPv6 (one subscriber or
   * machine usually holds a whole /64, so counting single IPv6 addresses would let it rotate past the backoff).
   */
  static String throttleKey(String address) {
    InetAddress ip = literal(address);
    if (!(ip instanceof java.net.Inet6Address)) return address;
    byte[] b = ip.getAddress();
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 8; i += 2) s.append(Integer.toHexString((b[i] & 0xff) << 8 | (b[i + 1] & 0xff))).append(':');
    return s.append(":/64").toString();
  }

  /** Whether {@code cidr} is an IPv4 or IPv6 range like {@code 10.0.0.0/8}. */
  public static boolean validCidr(String cidr) {
    try {
      parse(cidr);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private boolean isTrusted(InetAddress ip) {
    byte[] a = ip.getAddress();
    for (Range r : trusted) {
      if (r.network().length == a.length && samePrefix(a, r.network(), r.bits())) return true;
    }
    return false;
  }

  private static boolean samePrefix(byte[] a, byte[] b, int bits) {
    int full = bits / 8;
    for (int i = 0; i < full; i++) {
      if (a[i] != b[i]) return false;
    }
    int rest = bits % 8;
    if (rest == 0) return true;
    int mask = 0xff << (8 - rest) & 0xff;
    return (a[full] & mask) == (b[full] & mask);
  }

  private static Range parse(String cidr) {
    Objects.requireNonNull(cidr, "cidr");
    int slash = cidr.indexOf('/');
    InetAddress ip = literal(slash < 0 ? cidr : cidr.substring(0, slash));
    if (ip == null) throw new IllegalArgumentException(cidr);
    int max = ip.getAddress().length * 8;
    int bits;
    try {
      bits = slash < 0 ? max : Integer.parseInt(cidr.substring(slash + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(cidr, e);
    }
    if (bits < 0 || bits > max) throw new IllegalArgumentException(cidr);
    return new Range(ip.getAddress(), bits);
  }

  /** The address written as an IP literal, or null (host names are never resolved). */
  private static InetAddress literal(String s) {
    if (s == null) return null;
    String t = s.strip();
    if (t.startsWith("[") && t.endsWith("]")) t = t.substring(1, t.length() - 1);
    try {
      if (IPV4.matcher(t).matches()) {
        String[] parts = t.split("\\.");
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
          int v = Integer.parseInt(parts[i]);
          if (v > 255) return null;
          b[i] = (byte) v;
        }
        return InetAddress.getByAddress(b);
      }
      // with a colon the JDK parses an IPv6 literal or fails; it never looks such a string up
      return t.indexOf(':') >= 0 && IPV6.matcher(t).matches() ? InetAddress.getByName(t) : null;
    } catch (UnknownHostException e) {
      return null;
    }
  }

  private static String lastEntry(String header) {
    if (header == null) return null;
    int comma = header.lastIndexOf(',');
    return comma < 0 ? header : header.substring(comma + 1);
  }
}
