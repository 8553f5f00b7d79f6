package dev.sluice.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** IP literals and CIDR ranges, parsed without DNS (admin.allowNodeNetworks, server.trustedProxies). */
class IpRangeTest {
  @Test
  void rangesAreIpLiteralsWithAnOptionalPrefixLengthAndNeverHostNames() {
    assertThat(IpRange.valid("10.0.0.0/8")).isTrue();
    assertThat(IpRange.valid("10.0.0.5")).as("a bare address is a range of one").isTrue();
    assertThat(IpRange.valid("169.254.10.0/24")).isTrue();
    assertThat(IpRange.valid("::1/128")).isTrue();
    assertThat(IpRange.valid("fe80::/64")).isTrue();
    assertThat(IpRange.valid("[2001:db8::]/32")).isTrue();
    assertThat(IpRange.valid("10.0.0.0/33")).isFalse();
    assertThat(IpRange.valid("::/129")).isFalse();
    assertThat(IpRange.valid("10.0.0.0/x")).isFalse();
    assertThat(IpRange.valid("256.0.0.1")).isFalse();
    assertThat(IpRange.valid("localhost")).isFalse();
    assertThat(IpRange.valid("gpu.internal/24")).isFalse();
    assertThat(IpRange.valid("cafe")).as("hex letters only: a name, never looked up").isFalse();
    assertThat(IpRange.valid(null)).isFalse();
  }

  @Test
  void onlyFourPlainDecimalNumbersAreAnIpv4Literal() throws Exception {
    assertThat(IpRange.literal("10.0.0.5")).isEqualTo(InetAddress.getByName("10.0.0.5"));
    assertThat(IpRange.literal(" [::1] ")).isEqualTo(InetAddress.getByName("::1"));
    for (String spelling : new String[] {"2852039166", "0xa9.0xfe.0xa9.0xfe", "0251.0376.0251.0376", "010.0.0.5",
        "169.254.43518", "10.1", "1.2.3.4.5", "1.2.3.", "example.com", "", "zz::1"}) {
      assertThat(IpRange.literal(spelling)).as(spelling).isNull();
    }
  }

  @Test
  void aRangeContainsTheAddressesUnderItsPrefixAndNoneOfTheOtherFamily() throws Exception {
    IpRange r = IpRange.parse("10.1.128.0/17");
    assertThat(r.contains(InetAddress.getByName("10.1.128.1").getAddress())).isTrue();
    assertThat(r.contains(InetAddress.getByName("10.1.255.255").getAddress())).isTrue();
    assertThat(r.contains(InetAddress.getByName("10.1.127.255").getAddress())).isFalse();
    assertThat(r.contains(InetAddress.getByName("::ffff:a01:8001").getAddress()))
        .as("the JDK reads a mapped address as IPv4").isTrue();
    assertThat(r.contains(InetAddress.getByName("2001:db8::1").getAddress())).isFalse();
    assertThat(IpRange.parse("0.0.0.0/0").contains(InetAddress.getByName("203.0.113.7").getAddress())).isTrue();
    IpRange one = IpRange.parse("2001:db8::7");
    assertThat(one.contains(InetAddress.getByName("2001:db8::7").getAddress())).isTrue();
    assertThat(one.contains(InetAddress.getByName("2001:db8::8").getAddress())).isFalse();
  }
}
