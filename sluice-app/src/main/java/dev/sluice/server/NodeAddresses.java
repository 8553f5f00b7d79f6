package dev.sluice.server;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which addresses a node added at run time (through the admin API) may point at. Nodes are normally on private
 * networks or this machine, so those are fine; link-local addresses (169.254.0.0/16, fe80::/10) are refused because
 * that is where cloud metadata services live (169.254.169.254 holds instance credentials on AWS, GCP, Azure, and
 * fd00:ec2::254 on AWS over IPv6), as are unspecified, multicast and broadcast addresses. An operator can allow a
 * range explicitly ({@code admin.allowNodeNetworks}). Host names are resolved and every address they resolve to is
 * checked. Nodes in the config file are the operator's own choice and are not checked.
 */
public final class NodeAddresses {
  /** Names of metadata services that resolve to link-local addresses only inside the cloud. */
  private static final Set<String> METADATA_NAMES = Set.of("metadata.google.internal", "metadata", "instance-data",
      "instance-data.ec2.internal");
  /** Metadata addresses outside the link-local ranges (Alibaba Cloud, AWS IPv6). */
  private static final Set<String> METADATA_ADDRESSES = Set.of("100.100.100.200", "fd00:ec2:0:0:0:0:0:254");

  /** Resolves host names; replaceable in tests. */
  public interface Resolver {
    InetAddress[] resolve(String host) throws UnknownHostException;
  }

  private NodeAddresses() {}

  /**
   * Null when {@code url} is an acceptable node URL, else why not (names the fix).
   *
   * @param allowed CIDR ranges allowed even though link-local
   */
  public static String problem(String url, List<String> allowed, Resolver resolver) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (Exception e) {
      return "not a URL (expected http(s)://host:port)";
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
      return "not a URL (expected http(s)://host:port)";
    }
    if (uri.getUserInfo() != null) return "must not carry credentials in the URL (use the node's apiKey)";
    String host = uri.getHost();
    if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
    if (METADATA_NAMES.contains(host.toLowerCase(Locale.ROOT))) {
      return "points at a cloud metadata service (" + host + "); nodes cannot be added there";
    }
    InetAddress[] addresses;
    try {
      addresses = resolver.resolve(host);
    } catch (UnknownHostException e) {
      return "host " + host + " does not resolve; check the name or use an IP address";
    }
    for (InetAddress a : addresses) {
      String why = refused(a);
      if (why != null && !inAny(a, allowed)) {
        return "resolves to " + a.getHostAddress() + ", " + why + "; nodes cannot be added there through the admin "
            + "API (allow the range in admin.allowNodeNetworks if it really is a GPU node)";
      }
    }
    return null;
  }

  /** The real DNS resolver. */
  public static InetAddress[] resolve(String host) throws UnknownHostException {
    return InetAddress.getAllByName(host);
  }

  private static String refused(InetAddress a) {
    if (METADATA_ADDRESSES.contains(a.getHostAddress())) return "a cloud metadata address";
    if (a.isLinkLocalAddress()) return "a link-local address (where cloud metadata services live)";
    if (a.isAnyLocalAddress()) return "the unspecified address";
    if (a.isMulticastAddress()) return "a multicast address";
    if (a.getHostAddress().equals("255.255.255.255")) return "the broadcast address";
    return null;
  }

  /** Whether {@code cidr} is a valid IPv4 or IPv6 range. */
  public static boolean validCidr(String cidr) {
    try {
      parse(cidr);
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static boolean inAny(InetAddress a, List<String> cidrs) {
    for (String c : cidrs) {
      Object[] r = parse(c);
      byte[] net = (byte[]) r[0];
      int bits = (int) r[1];
      byte[] addr = a.getAddress();
      if (addr.length != net.length) continue;
      int shift = addr.length * 8 - bits;
      if (new BigInteger(1, addr).shiftRight(shift).equals(new BigInteger(1, net).shiftRight(shift))) return true;
    }
    return false;
  }

  /** {network bytes, prefix length}; literal addresses only, never a DNS lookup. */
  private static Object[] parse(String cidr) {
    int slash = cidr.indexOf('/');
    String ip = cidr.substring(0, slash);
    int bits = Integer.parseInt(cidr.substring(slash + 1));
    if (!ip.matches("[0-9A-Fa-f:.]+")) throw new IllegalArgumentException(cidr);
    byte[] net;
    try {
      net = InetAddress.getByName(ip).getAddress(); // a literal: no lookup
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(cidr, e);
    }
    if (bits < 0 || bits > net.length * 8) throw new IllegalArgumentException(cidr);
    return new Object[] {net, bits};
  }
}
