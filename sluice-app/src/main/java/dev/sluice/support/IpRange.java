package dev.sluice.support;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * IP literals and CIDR ranges, read without any DNS lookup: the one parser of both, for the address policy of
 * run-time nodes ({@code admin.allowNodeNetworks}) and for trusted proxies ({@code server.trustedProxies}).
 *
 * <p>An IPv4 literal is four plain decimal numbers 0–255 without leading zeros ({@code 10.0.0.5}); the spellings that
 * resolvers read differently ({@code 2852039166}, {@code 0xa9.0xfe.0xa9.0xfe}, {@code 010.0.0.5}, {@code 10.1}) are
 * not literals. An IPv6 literal is anything the JDK reads as one (with or without brackets).
 *
 * @param network the range's address bytes (4 or 16)
 * @param bits its prefix length
 */
public record IpRange(byte[] network, int bits) {
  private static final Pattern DECIMAL_OCTET = Pattern.compile("0|[1-9][0-9]{0,2}");
  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

  public IpRange {
    Objects.requireNonNull(network, "network");
    if (network.length != 4 && network.length != 16 || bits < 0 || bits > network.length * 8) {
      throw new IllegalArgumentException("not a range: " + network.length + " bytes /" + bits);
    }
  }

  /**
   * {@code "10.0.0.0/8"}, {@code "fe80::/10"}, or a bare address (a range of one).
   *
   * @throws IllegalArgumentException when {@code cidr} is none of these
   */
  public static IpRange parse(String cidr) {
    Objects.requireNonNull(cidr, "cidr");
    int slash = cidr.indexOf('/');
    InetAddress ip = literal(slash < 0 ? cidr : cidr.substring(0, slash));
    if (ip == null) throw new IllegalArgumentException(cidr + ": not an IP address or CIDR range");
    byte[] bytes = ip.getAddress();
    int bits;
    try {
      bits = slash < 0 ? bytes.length * 8 : Integer.parseInt(cidr.substring(slash + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(cidr + ": the prefix length is not a number", e);
    }
    if (bits < 0 || bits > bytes.length * 8) {
      throw new IllegalArgumentException(cidr + ": the prefix length must be 0.." + bytes.length * 8);
    }
    return new IpRange(bytes, bits);
  }

  /** Whether {@link #parse} accepts {@code cidr}. */
  public static boolean valid(String cidr) {
    try {
      parse(cidr);
      return true;
    } catch (IllegalArgumentException | NullPointerException e) {
      return false;
    }
  }

  /** The address {@code s} spells as an IP literal (see the class comment), or null; never a DNS lookup. */
  public static InetAddress literal(String s) {
    if (s == null) return null;
    String t = s.strip();
    if (t.startsWith("[") && t.endsWith("]")) t = t.substring(1, t.length() - 1);
    try {
      if (t.indexOf(':') >= 0) {
        // with a colon the JDK reads an IPv6 literal or fails; it never looks such a string up
        return IPV6.matcher(t).matches() ? InetAddress.getByName("[" + t + "]") : null;
      }
      String[] parts = t.split("\\.", -1);
      if (parts.length != 4) return null;
      byte[] b = new byte[4];
      for (int i = 0; i < 4; i++) {
        if (!DECIMAL_OCTET.matcher(parts[i]).matches()) return null;
        int v = Integer.parseInt(parts[i]);
        if (v > 255) return null;
        b[i] = (byte) v;
      }
      return InetAddress.getByAddress(b);
    } catch (UnknownHostException e) {
      return null;
    }
  }

  /** Whether {@code address} (4 or 16 bytes) lies in this range; an address of the other family never does. */
  public boolean contains(byte[] address) {
    if (address.length != network.length) return false;
    int full = bits / 8;
    for (int i = 0; i < full; i++) {
      if (address[i] != network[i]) return false;
    }
    int rest = bits % 8;
    if (rest == 0) return true;
    int mask = 0xff << (8 - rest) & 0xff;
    return (address[full] & mask) == (network[full] & mask);
  }
}
