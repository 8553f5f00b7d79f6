package dev.sluice.config;

import static dev.sluice.config.ConfigTexts.OK_PROVIDER;
import static dev.sluice.config.ConfigTexts.json;
import static dev.sluice.config.ConfigTexts.problems;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code server} section: listener, limits, CORS (TLS and deadlines have their own tests). */
class ServerSectionTest {
  @Test
  void warnsThatEveryOriginMayCallTheGatewayFromABrowser() throws Exception {
    ConfigLoader.Result r = ConfigLoader.parseDetailed(json(
        "{'server': {'cors': {'allowedOrigins': ['*', 'https://App.Example.com:8443']}}, 'providers': {" + OK_PROVIDER
            + "}}"), "t");
    assertThat(r.warnings()).anySatisfy(w -> assertThat(w).startsWith("config: server.cors.allowedOrigins: \"*\" lets "
        + "any web page call this gateway"));
    assertThat(r.config().server().cors().allowedOrigins()).containsExactly("*", "https://app.example.com:8443");
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {'server': {'port': 70000}, 'providers': {OK}}              | config: server.port: 70000 must be a TCP port 0..65535
      {'server': {'port': '8080'}, 'providers': {OK}}             | config: server.port: "8080" must be a TCP port
      {'server': {'port': 80.5}, 'providers': {OK}}               | config: server.port: 80.5 must be a TCP port
      {'server': {'maxBodyBytes': 0}, 'providers': {OK}}          | config: server.maxBodyBytes: 0 must be a positive integer (bytes)
      {'server': {'host': ''}, 'providers': {OK}}                 | config: server.host: "" must be a host name
      {'server': 8080, 'providers': {OK}}                         | config: server: 8080 must be a JSON object
      {'server': {'prot': 1}, 'providers': {OK}}                  | config: server.prot: unknown key (known: host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, 
      {'server': {'cors': {'allowedOrigins': ['*'], 'allowCredentials': true}}, 'providers': {OK}} | config: server.cors: allowCredentials with allowedOrigins "*" would let any web page act with a user's credentials
      {'server': {'cors': {'allowedOrigins': ['https://app.example.com/ui']}}, 'providers': {OK}} | config: server.cors.allowedOrigins[0]: "https://app.example.com/ui" is not an origin (expected "https://host[:port]" without a path, or "*")
      {'server': {'cors': {'origins': []}}, 'providers': {OK}}    | config: server.cors.origins: unknown key (known: allowedOrigins, allowCredentials, maxAge)
      {'server': {'maxJsonDepth': 4}, 'providers': {OK}}          | config: server.maxJsonDepth: 4 must be an integer 8..1000 (nesting levels)
      {'server': {'maxHeaderBytes': 100}, 'providers': {OK}}      | config: server.maxHeaderBytes: 100 must be an integer 1024..1048576 (bytes)
      """)
  void rejectsABadValueNamingItsKeyPathTheValueAndTheFix(String config, String expected) {
    assertThat(problems(config.replace("OK", OK_PROVIDER)))
        .as("problems of %s", config)
        .anySatisfy(p -> assertThat(p).startsWith(expected));
  }
}
