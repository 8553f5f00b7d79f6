package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The part of {@link ClientAddress} that needs no request: the key the backoff counts under. */
class ClientAddressTest {
  @Test
  void ipv4AddressesCountAloneAndIpv6AddressesByTheirSlash64() {
    assertThat(ClientAddress.throttleKey("203.0.113.7")).isEqualTo("203.0.113.7");
    assertThat(ClientAddress.throttleKey("2001:db8:1:2:aaaa::1")).isEqualTo("2001:db8:1:2::/64");
    assertThat(ClientAddress.throttleKey("2001:db8:1:2:bbbb::9")).isEqualTo("2001:db8:1:2::/64");
    assertThat(ClientAddress.throttleKey("unknown")).isEqualTo("unknown");
  }
}
