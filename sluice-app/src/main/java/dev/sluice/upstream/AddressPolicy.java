package dev.sluice.upstream;

import dev.sluice.support.IpRange;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which addresses the gateway may connect to on an operator's behalf when the URL was set at run time (a node's
 * {@code baseUrl} and {@code metricsUrl} through {@code POST /admin/nodes}). Nodes are normally on private networks or
 * this machine, so those are fine. Refused: link-local addresses (169.254.0.0/16, fe80::/10: where cloud metadata
 * services live, 169.254.169.254 holding instance credentials on AWS, GCP and Azure), other metadata addresses
 * (100.100.100.200, fd00:ec2::254) and names, the "this network" range 0.0.0.0/8 and the unspecified {@code ::},
 * multicast and broadcast; and the same for every IPv4 address embedded in an IPv6 address (IPv4-compatible,
 * -mapped and -translated, NAT64, 6to4, Teredo), which a host or a NAT64 gateway would reach instead. Numeric host
 * spellings other than four decimal numbers ({@code 2852039166}, {@code 0xa9.0xfe.0xa9.0xfe}, {@code 0251.…}) are
 * refused: resolvers disagree on what they mean. A range in {@code admin.allowNodeNetworks} allows the addresses in it
 * (and IPv6 addresses whose embedded IPv4 lies in it).
 *
 * <p>Host names are resolved once, every address is checked, and {@link Verdict#address()} is the one to connect to
 * from then on: a name that resolves elsewhere later (DNS rebinding) cannot move the connection. Pure: no Vert.x; the
 * resolver is injected.
 */
public final class AddressPolicy {
  /** Names of metadata services that resolve to link-local addresses only inside the cloud. */
  private static final Set<String> METADATA_NAMES = Set.of("metadata.google.internal", "metadata", "instance-data",
      "instance-data.ec2.internal");
  /** Alibaba Cloud's metadata service: outside the link-local range. */
  private static final byte[] ALIBABA_METADATA = {100, 100, 100, (byte) 200};
  /** AWS's metadata service over IPv6 (fd00:ec2::254): outside fe80::/10. */
  private static final byte[] AWS_METADATA_V6 = {(byte) 0xfd, 0, 0x0e, (byte) 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0x02, 0x54};
  /** One part of a numeric IPv4 host as inet_aton reads it: decimal, octal (leading 0) or hex (0x). */
  private static final Pattern NUMERIC_PART = Pattern.compile("0[xX][0-9a-fA-F]*|[0-9]+");
  private static final String NOT_A_URL = "not a URL (expected http(s)://host:port)";

  /** Resolves host names; tests inject one that answers what they need. */
  public interface Resolver {
    InetAddress[] resolve(String host) throws UnknownHostException;

    /** The system's resolver (DNS, /etc/hosts), as {@link InetAddress#getAllByName}. */
    Resolver SYSTEM = InetAddress::getAllByName;
  }

  /**
   * The outcome for one URL.
   *
   * @param host the URL's host (without IPv6 brackets), lower-case
   * @param address where to connect: the first address the host resolved to, all of them checked; null when refused
   * @param problem why the URL is refused (names the fix); null when allowed
   */
  public record Verdict(String host, InetAddress address, String problem) {
    public boolean allowed() {
      return problem == null;
    }

    /** Whether the host was a name (worth pinning) rather than an IP literal. */
    public boolean named() {
      return allowed() && !host.contains(":") && !isDottedQuad(host);
    }

    static Verdict refused(String host, String why) {
      return new Verdict(host, null, why);
    }
  }

  private final List<IpRange> allowed;
  private final Resolver resolver;

  /**
   * @param allowedNetworks CIDR ranges allowed although the rules above refuse them ({@code admin.allowNodeNetworks},
   *     validated by the config loader with {@link IpRange#valid})
   */
  public AddressPolicy(List<String> allowedNetworks, Resolver resolver) {
    this.resolver = Objects.requireNonNull(resolver, "resolver");
    List<IpRange> nets = new ArrayList<>();
    for (String c : allowedNetworks) nets.add(IpRange.parse(c));
    this.allowed = List.copyOf(nets);
  }

  /** Null when {@code url} is acceptable, else why not (names the fix). */
  public static String problem(String url, List<String> allowed, Resolver resolver) {
    return new AddressPolicy(allowed, resolver).check(url).problem();
  }

  /** Checks {@code url}: its scheme, credentials, host, and every address the host resolves to. May block (DNS). */
  public Verdict check(String url) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (Exception e) {
      return Verdict.refused("", NOT_A_URL);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") || uri.getRawAuthority() == null) {
      return Verdict.refused("", NOT_A_URL);
    }
    if (uri.getRawUserInfo() != null) {
      return Verdict.refused("", "must not carry credentials in the URL (use the node's apiKey)");
    }
    // java.net.URI leaves the host null for numeric spellings it cannot read (0xa9.0xfe…): judge the authority's host
    String host = uri.getHost() != null ? uri.getHost() : hostOf(uri.getRawAuthority());
    if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
    host = host.toLowerCase(Locale.ROOT);
    if (METADATA_NAMES.contains(host)) {
      return Verdict.refused(host, "points at a cloud metadata service (" + host + "); nodes cannot be added there");
    }
    if (isAmbiguousNumeric(host)) {
      return Verdict.refused(host, "host " + host + " is a numeric address in a form resolvers read differently "
          + "(one number, hex, octal or fewer than four parts); write it as four decimal numbers like 10.0.0.5");
    }
    if (uri.getHost() == null) return Verdict.refused(host, NOT_A_URL);
    InetAddress[] addresses;
    try {
      addresses = literal(host);
      if (addresses == null) addresses = resolver.resolve(host);
    } catch (UnknownHostException | IllegalArgumentException | SecurityException e) {
      addresses = null;
    }
    if (addresses == null || addresses.length == 0) {
      return Verdict.refused(host, "host " + host + " does not resolve; check the name or use an IP address");
    }
    for (InetAddress a : addresses) {
      String why = refused(a);
      if (why != null) {
        return Verdict.refused(host, "resolves to " + a.getHostAddress() + ", " + why + "; nodes cannot be added "
            + "there through the admin API (allow the range in admin.allowNodeNetworks if it really is a GPU node)");
      }
    }
    return new Verdict(host, addresses[0], null);
  }

  /** Why the gateway may not connect to {@code a}; null when it may (rules and allowed ranges of this policy). */
  public String refused(InetAddress a) {
    byte[] b = a.getAddress();
    if (inAllowed(b)) return null;
    String why = plainWhy(b);
    if (why != null) return why;
    for (byte[] v4 : embeddedIPv4(b)) {
      String inner = plainWhy(v4);
      if (inner != null && !inAllowed(v4)) return "which embeds the IPv4 address " + dotted(v4) + ", " + inner;
    }
    return null;
  }

  // ------------------------------------------------------------------ the rules

  /** The rules for one address by itself (4 or 16 bytes), embedded addresses aside; null when allowed. */
  static String plainWhy(byte[] a) {
    if (a.length == 4) {
      int first = a[0] & 0xff;
      if (Arrays.equals(a, ALIBABA_METADATA)) return "a cloud metadata address";
      if (first == 169 && (a[1] & 0xff) == 254) return "a link-local address (where cloud metadata services live)";
      if (first == 0) return "in 0.0.0.0/8, the unspecified \"this network\" range (0.0.0.0 reaches this host)";
      if (first >= 224 && first <= 239) return "a multicast address";
      if (Arrays.equals(a, new byte[] {-1, -1, -1, -1})) return "the broadcast address";
      return null;
    }
    if (Arrays.equals(a, AWS_METADATA_V6)) return "a cloud metadata address";
    if ((a[0] & 0xff) == 0xfe && (a[1] & 0xc0) == 0x80) {
      return "a link-local address (where cloud metadata services live)";
    }
    if ((a[0] & 0xff) == 0xff) return "a multicast address";
    if (isZero(a, 0, 16)) return "the unspecified address";
    return null;
  }

  /**
   * The IPv4 addresses embedded in IPv6 address {@code a} that a host, a NAT64 gateway or a tunnel would reach
   * instead: IPv4-compatible ::/96 (but not :: and ::1), IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96,
   * NAT64 64:ff9b::/96 and 64:ff9b:1::/48 (last 32 bits), 6to4 2002::/16 (bits 16..47), Teredo 2001:0::/32 (the
   * server in bits 32..63, the client in the last 32 bits inverted). Empty for IPv4 and other IPv6 addresses.
   */
  static List<byte[]> embeddedIPv4(byte[] a) {
    if (a.length != 16) return List.of();
    List<byte[]> out = new ArrayList<>(2);
    int w0 = word(a, 0);
    int w1 = word(a, 2);
    if (isZero(a, 0, 12)) {
      if (!isZero(a, 12, 15)) out.add(slice(a, 12)); // ::a.b.c.d, not :: nor ::1
    } else if (isZero(a, 0, 10) && word(a, 10) == 0xffff) {
      out.add(slice(a, 12));
    } else if (isZero(a, 0, 8) && word(a, 8) == 0xffff && word(a, 10) == 0) {
      out.add(slice(a, 12));
    } else if (w0 == 0x64 && w1 == 0xff9b && (isZero(a, 4, 12) || word(a, 4) == 1)) {
      out.add(slice(a, 12));
    } else if (w0 == 0x2002) {
      out.add(slice(a, 2));
    } else if (w0 == 0x2001 && w1 == 0) {
      out.add(slice(a, 4));
      byte[] client = slice(a, 12);
      for (int i = 0; i < 4; i++) client[i] = (byte) ~client[i];
      out.add(client);
    }
    return out;
  }

  private static int word(byte[] a, int at) {
    return (a[at] & 0xff) << 8 | (a[at + 1] & 0xff);
  }

  private static boolean isZero(byte[] a, int from, int to) {
    for (int i = from; i < to; i++) if (a[i] != 0) return false;
    return true;
  }

  private static byte[] slice(byte[] a, int from) {
    return Arrays.copyOfRange(a, from, from + 4);
  }

  private static String dotted(byte[] v4) {
    return (v4[0] & 0xff) + "." + (v4[1] & 0xff) + "." + (v4[2] & 0xff) + "." + (v4[3] & 0xff);
  }

  // ------------------------------------------------------------------ host spellings

  /** The host of an authority java.net.URI could not read: without user info and port. */
  private static String hostOf(String authority) {
    String h = authority.substring(authority.lastIndexOf('@') + 1);
    if (h.startsWith("[")) return h.indexOf(']') > 0 ? h.substring(0, h.indexOf(']') + 1) : h;
    int colon = h.lastIndexOf(':');
    return colon >= 0 ? h.substring(0, colon) : h;
  }

  /** A host every part of which is a number as inet_aton reads it, but which is not four plain decimal octets. */
  static boolean isAmbiguousNumeric(String host) {
    String[] parts = host.split("\\.", -1);
    for (String p : parts) if (!NUMERIC_PART.matcher(p).matches()) return false;
    return !isDottedQuad(host);
  }

  /** Four plain decimal numbers 0–255: the one numeric spelling every resolver reads the same way. */
  private static boolean isDottedQuad(String host) {
    return !host.contains(":") && IpRange.literal(host) != null;
  }

  /** The address of an IP literal host, read without any lookup; null for a name. */
  private static InetAddress[] literal(String host) throws UnknownHostException {
    InetAddress ip = IpRange.literal(host);
    if (ip == null && host.contains(":")) throw new UnknownHostException(host + ": not an IPv6 address");
    return ip == null ? null : new InetAddress[] {InetAddress.getByAddress(host, ip.getAddress())};
  }

  // ------------------------------------------------------------------ allowed ranges

  private boolean inAllowed(byte[] addr) {
    for (IpRange c : allowed) if (c.contains(addr)) return true;
    return false;
  }
}
