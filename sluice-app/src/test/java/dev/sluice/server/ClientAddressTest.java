package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The parts of {@link ClientAddress} that need no request: ranges and the key the backoff counts under. */
class ClientAddressTest {
  @Test
  void rangesAreIpLiteralsWithAnOptionalPrefixLengthAndNeverHostNames() {
    assertThat(ClientAddress.validCidr("10.0.0.0/8")).isTrue();
    assertThat(ClientAddress.validCidr("10.0.0.5")).isTrue();
    assertThat(ClientAddress.validCidr("::1/128")).isTrue();
    assertThat(ClientAddress.validCidr("2001:db8::/32")).isTrue();
    assertThat(ClientAddress.validCidr("10.0.0.0/33")).isFalse();
    assertThat(ClientAddress.validCidr("256.0.0.1")).isFalse();
    assertThat(ClientAddress.validCidr("localhost")).isFalse();
    assertThat(ClientAddress.validCidr("cafe")).as("hex letters only: a name, never looked up").isFalse();
    assertThat(ClientAddress.validCidr("10.0.0.0/x")).isFalse();
  }

  @Test
  void ipv4AddressesCountAloneAndIpv6AddressesByTheirSlash64() {
    assertThat(ClientAddress.throttleKey("203.0.113.7")).isEqualTo("203.0.113.7");
    assertThat(ClientAddress.throttleKey("2001:db8:1:2:aaaa::1")).isEqualTo("2001:db8:1:2::/64");
    assertThat(ClientAddress.throttleKey("2001:db8:1:2:bbbb::9")).isEqualTo("2001:db8:1:2::/64");
    assertThat(ClientAddress.throttleKey("unknown")).isEqualTo("unknown");
  }
}
