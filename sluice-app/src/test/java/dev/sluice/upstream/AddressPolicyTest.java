package dev.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The address policy for URLs set at run time, table-driven: every way an IPv6 address carries an IPv4 address, each
 * with addresses the policy refuses and addresses it allows, numeric spellings of IPv4 hosts, the operator's allowed
 * ranges, and the address a checked name is pinned to.
 */
class AddressPolicyTest {
  /** A resolver that would allow anything: a host that must be refused may not get past the policy through it. */
  private static final AddressPolicy.Resolver EVERYTHING_IS_PRIVATE =
      host -> new InetAddress[] {InetAddress.getByName("10.0.0.5")};

  /** An IPv6 form carrying an IPv4 address, as a URL host ({@code [..]}). */
  private record Form(String name, java.util.function.Function<int[], String> host) {}

  private static final List<Form> FORMS = List.of(
      new Form("IPv4-compatible ::/96", v -> "[::" + dotted(v) + "]"),
      new Form("IPv4-mapped ::ffff:0:0/96", v -> "[::ffff:" + dotted(v) + "]"),
      new Form("IPv4-translated ::ffff:0:0:0/96", v -> "[::ffff:0:" + hex(v) + "]"),
      new Form("NAT64 64:ff9b::/96", v -> "[64:ff9b::" + hex(v) + "]"),
      new Form("NAT64 local-use 64:ff9b:1::/48", v -> "[64:ff9b:1:2:3:4:" + hex(v) + "]"),
      new Form("6to4 2002::/16", v -> "[2002:" + hex(v) + ":1::1]"),
      new Form("Teredo server 2001:0::/32", v -> "[2001:0:" + hex(v) + ":0:0:" + inverted(new int[] {10, 0, 0, 5})
          + "]"),
      new Form("Teredo client 2001:0::/32", v -> "[2001:0:a00:5:0:0:" + inverted(v) + "]"));

  private static final List<int[]> REFUSED_IPV4 = List.of(new int[] {169, 254, 169, 254}, new int[] {169, 254, 10, 20},
      new int[] {0, 0, 0, 0}, new int[] {224, 0, 0, 251}, new int[] {100, 100, 100, 200});
  private static final List<int[]> ALLOWED_IPV4 = List.of(new int[] {10, 0, 0, 5}, new int[] {127, 0, 0, 1});

  @Test
  void everyIpv6FormEmbeddingAMetadataLinkLocalUnspecifiedOrMulticastIpv4AddressIsRefused() {
    AddressPolicy policy = new AddressPolicy(List.of(), EVERYTHING_IS_PRIVATE);
    List<String> passed = new ArrayList<>();
    for (Form f : FORMS) {
      for (int[] v4 : REFUSED_IPV4) {
        String url = "http://" + f.host().apply(v4) + ":80/latest/meta-data/";
        AddressPolicy.Verdict v = policy.check(url);
        if (v.allowed()) passed.add(f.name() + " " + url);
        else assertThat(v.problem()).as(url).containsAnyOf(dotted(v4), "unspecified").contains("admin.allowNodeNetworks");
      }
    }
    assertThat(passed).as("URLs that got through").isEmpty();
  }

  @Test
  void theSameFormsEmbeddingAPrivateOrLoopbackIpv4AddressAreAllowed() {
    AddressPolicy policy = new AddressPolicy(List.of(), EVERYTHING_IS_PRIVATE);
    for (Form f : FORMS) {
      for (int[] v4 : ALLOWED_IPV4) {
        int[] server = f.name().equals("Teredo server 2001:0::/32") ? v4 : new int[] {10, 0, 0, 5};
        String url = f.name().startsWith("Teredo")
            ? "http://[2001:0:" + hex(server) + ":0:0:" + inverted(v4) + "]:11434"
            : "http://" + f.host().apply(v4) + ":11434";
        assertThat(policy.check(url).problem()).as(f.name() + " " + url).isNull();
      }
    }
  }

  @Test
  void plainAddressesFollowTheSameRules() {
    AddressPolicy policy = new AddressPolicy(List.of(), EVERYTHING_IS_PRIVATE);
    for (String refused : List.of("http://169.254.169.254", "http://169.254.1.1:11434", "http://0.0.0.0:11434",
        "http://0.1.2.3", "http://224.0.0.1", "http://255.255.255.255", "http://100.100.100.200",
        "http://[fe80::1]:11434", "http://[ff02::1]", "http://[::]:11434", "http://[fd00:ec2::254]",
        "http://metadata.google.internal", "http://user:pw@127.0.0.1:11434", "file:///etc/passwd",
        "gopher://127.0.0.1:70")) {
      assertThat(policy.check(refused).allowed()).as(refused).isFalse();
    }
    for (String allowed : List.of("http://10.0.0.5:11434", "http://127.0.0.1:8000/v1", "http://[::1]:11434",
        "https://192.168.1.20", "http://172.16.0.9:8000", "http://[fd12:3456::9]:11434", "http://100.64.0.7")) {
      assertThat(policy.check(allowed).problem()).as(allowed).isNull();
    }
  }

  @Test
  void numericIpv4SpellingsOtherThanFourDecimalNumbersAreRefusedWhateverTheResolverSays() {
    AddressPolicy policy = new AddressPolicy(List.of(), EVERYTHING_IS_PRIVATE);
    for (String url : List.of("http://2852039166/", "http://0xa9.0xfe.0xa9.0xfe/", "http://0251.0376.0251.0376/",
        "http://169.254.43518/", "http://0xa9fea9fe:80/", "http://169.0xfe.169.254/", "http://010.0.0.5:11434",
        "http://127.1/")) {
      AddressPolicy.Verdict v = policy.check(url);
      assertThat(v.allowed()).as(url).isFalse();
      assertThat(v.problem()).as(url).contains("four decimal numbers");
    }
  }

  @Test
  void aRangeInAllowNodeNetworksAllowsItsAddressesAndTheIpv6FormsEmbeddingThemButNoOthers() {
    AddressPolicy policy = new AddressPolicy(List.of("169.254.10.0/24", "fe80::/64"), EVERYTHING_IS_PRIVATE);
    assertThat(policy.check("http://169.254.10.20:11434").problem()).isNull();
    assertThat(policy.check("http://[::ffff:0:169.254.10.20]:11434").problem()).isNull();
    assertThat(policy.check("http://[64:ff9b::169.254.10.20]:11434").problem()).isNull();
    assertThat(policy.check("http://[fe80::1]:11434").problem()).isNull();
    assertThat(policy.check("http://169.254.169.254").problem()).contains("169.254.169.254");
    assertThat(policy.check("http://[64:ff9b::169.254.169.254]").problem()).contains("169.254.169.254");
  }

  @Test
  void aNameIsResolvedOnceEveryAddressIsCheckedAndTheCheckedAddressIsTheOneToConnectTo() throws Exception {
    AtomicInteger lookups = new AtomicInteger();
    AddressPolicy.Resolver rebinding = host -> {
      if (!host.equals("gpu.rebind.test")) throw new UnknownHostException(host);
      return new InetAddress[] {InetAddress.getByName(lookups.getAndIncrement() == 0 ? "127.0.0.1" : "169.254.169.254")};
    };
    AddressPolicy policy = new AddressPolicy(List.of(), rebinding);
    AddressPolicy.Verdict v = policy.check("http://GPU.rebind.test:11434/v1");
    assertThat(v.problem()).isNull();
    assertThat(v.named()).isTrue();
    assertThat(v.host()).isEqualTo("gpu.rebind.test");
    assertThat(v.address().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(lookups).hasValue(1);
    assertThat(policy.check("http://gpu.rebind.test:11434").problem()).as("the name now points at metadata")
        .contains("169.254.169.254");
    assertThat(policy.check("http://no.such.test").problem()).contains("does not resolve");

    AddressPolicy twoFaced = new AddressPolicy(List.of(), host -> new InetAddress[] {
        InetAddress.getByName("10.0.0.5"), InetAddress.getByName("::169.254.169.254")});
    assertThat(twoFaced.check("http://gpu.internal").problem()).as("one bad address of several")
        .contains("169.254.169.254");
    assertThat(new AddressPolicy(List.of(), EVERYTHING_IS_PRIVATE).check("http://10.0.0.5").named()).isFalse();
  }

  private static String dotted(int[] v) {
    return v[0] + "." + v[1] + "." + v[2] + "." + v[3];
  }

  private static String hex(int[] v) {
    return Integer.toHexString(v[0] << 8 | v[1]) + ":" + Integer.toHexString(v[2] << 8 | v[3]);
  }

  private static String inverted(int[] v) {
    return hex(new int[] {~v[0] & 0xff, ~v[1] & 0xff, ~v[2] & 0xff, ~v[3] & 0xff});
  }
}
