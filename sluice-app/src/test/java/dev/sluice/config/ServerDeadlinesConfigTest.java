package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The server's connection deadlines, per-client cap and upload caps in the config file. */
class ServerDeadlinesConfigTest {
  private static final String OK_PROVIDER = "'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm'}]}}";

  @Test
  void theDeadlinesAndCapsParse() throws Exception {
    SluiceConfig c = ConfigLoader.parse(json("{'server': {'requestHeadTimeout': '5s', 'keepAliveTimeout': '45s', "
        + "'bodyReadTimeout': '250ms', 'maxConnectionsPerClient': 64, 'maxBodyBytes': 1048576, "
        + "'maxUploadBytesInProgress': 67108864, 'maxUploadBytesInProgressPerTenant': 16777216}, " + OK_PROVIDER
        + "}"), "t");

    ServerSettings s = c.server();
    assertThat(s.requestHeadTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(s.keepAliveTimeout()).isEqualTo(Duration.ofSeconds(45));
    assertThat(s.bodyReadTimeout()).isEqualTo(Duration.ofMillis(250));
    assertThat(s.maxConnectionsPerClient()).isEqualTo(64);
    assertThat(s.maxUploadBytesInProgress()).isEqualTo(64L << 20);
    assertThat(s.maxUploadBytesInProgressPerTenant()).isEqualTo(16L << 20);
  }

  @Test
  void leftOutTheyTakeTheirDefaultsAndTheUploadCapsFollowTheHeap() throws Exception {
    ServerSettings s = ConfigLoader.parse(json("{'server': {'port': 8080}, " + OK_PROVIDER + "}"), "t").server();
    ServerSettings nulls = ConfigLoader.parse(json("{'server': {'port': 8080, 'maxUploadBytesInProgress': null, "
        + "'maxUploadBytesInProgressPerTenant': null}, " + OK_PROVIDER + "}"), "t").server();

    assertThat(nulls).as("null, as the README shows it, means derived").isEqualTo(s);

    assertThat(s.requestHeadTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.keepAliveTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(s.bodyReadTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(s.maxConnectionsPerClient()).isZero();
    assertThat(s.maxUploadBytesInProgress()).isEqualTo(ServerSettings.DERIVED_FROM_HEAP);
    assertThat(s.maxUploadBytesInProgressPerTenant()).isEqualTo(ServerSettings.DERIVED_FROM_HEAP);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      {'requestHeadTimeout': '10'}        | config: server.requestHeadTimeout: "10" must be a positive duration like "250ms", "2s", "5m" or "1h"
      {'keepAliveTimeout': 60}            | config: server.keepAliveTimeout: 60 must be a positive duration like "250ms"
      {'bodyReadTimeout': '0s'}           | config: server.bodyReadTimeout: "0s" must be a positive duration like "250ms"
      {'maxConnectionsPerClient': -1}     | config: server.maxConnectionsPerClient: -1 must be a whole number ≥ 0 (open connections from one client address; 0 = no cap
      {'maxConnectionsPerClient': 'many'} | config: server.maxConnectionsPerClient: "many" must be a whole number ≥ 0
      {'maxUploadBytesInProgress': 0}     | config: server.maxUploadBytesInProgress: 0 must be a positive integer (bytes; leave it out for an eighth of the heap)
      {'maxUploadBytesInProgressPerTenant': '1MiB'} | config: server.maxUploadBytesInProgressPerTenant: "1MiB" must be a positive integer (bytes; leave it out for a quarter of maxUploadBytesInProgress)
      {'maxUploadBytesInProgress': 1024}  | config: server.maxUploadBytesInProgress: 1024 is below server.maxBodyBytes (10485760): a body of the largest allowed size could never be read; raise it or lower maxBodyBytes
      {'maxUploadBytesInProgressPerTenant': 1024} | config: server.maxUploadBytesInProgressPerTenant: 1024 is below server.maxBodyBytes (10485760): a body of the largest allowed size could never be read
      {'maxUploadBytesInProgress': 20000000, 'maxUploadBytesInProgressPerTenant': 30000000} | config: server.maxUploadBytesInProgressPerTenant: 30000000 is above server.maxUploadBytesInProgress (20000000): one tenant cannot hold more than all tenants; lower it or raise the total
      """)
  void aBadValueIsAProblemNamingTheKeyAndTheFix(String server, String expected) {
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> ConfigLoader.parse(json("{'server': " + server + ", " + OK_PROVIDER + "}"), "t"));

    assertThat(e).as("a ConfigException for %s", server).isNotNull();
    List<String> problems = e.problems();
    assertThat(problems).anySatisfy(p -> assertThat(p).startsWith(expected));
  }

  /** Single quotes make the inline cases readable; none of the cases needs an apostrophe. */
  private static String json(String singleQuoted) {
    return singleQuoted.replace('\'', '"');
  }
}
