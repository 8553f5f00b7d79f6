package dev.sluice.server;

import dev.sluice.support.IpRange;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The one owner of "the client's address": the TCP peer, or, when the peer is a proxy listed in
 * {@code server.trustedProxies}, the address that proxy reports ({@code X-Real-IP}, else the last
 * {@code X-Forwarded-For} entry: the one the proxy itself added). A client's own headers count for nothing unless its
 * peer is trusted, so a client cannot pick its address. Used where Sluice acts per client (the backoff after failed
 * credentials); never for authorisation.
 */
public final class ClientAddress {
  private static final String UNKNOWN = "unknown";

  private final List<IpRange> trusted;

  /**
   * @param trustedProxies CIDR ranges or addresses ({@code "10.0.0.0/8"}, {@code "::1"}), valid by
   *     {@link IpRange#valid}
   */
  ClientAddress(List<String> trustedProxies) {
    List<IpRange> ranges = new ArrayList<>();
    for (String cidr : trustedProxies) ranges.add(IpRange.parse(cidr));
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
    if (!(ip instanceof Inet6Address)) return address;
    byte[] b = ip.getAddress();
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 8; i += 2) s.append(Integer.toHexString((b[i] & 0xff) << 8 | (b[i + 1] & 0xff))).append(':');
    return s.append(":/64").toString();
  }

  private boolean isTrusted(InetAddress ip) {
    byte[] a = ip.getAddress();
    for (IpRange r : trusted) {
      if (r.contains(a)) return true;
    }
    return false;
  }

  /** The address written as an IP literal, or null (host names are never resolved). */
  private static InetAddress literal(String s) {
    return IpRange.literal(s);
  }

  private static String lastEntry(String header) {
    if (header == null) return null;
    int comma = header.lastIndexOf(',');
    return comma < 0 ? header : header.substring(comma + 1);
  }
}
