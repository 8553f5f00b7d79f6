package dev.sluice.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.ServerSettings;
import dev.sluice.support.Json;
import dev.sluice.testkit.LogCapture;
import dev.sluice.testkit.SecretLedger;
import dev.sluice.testkit.TestCluster;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Wrong credentials from one client address through the real server: after a few, that address gets 429 +
 * Retry-After without its credentials being looked at, while valid credentials from other addresses and credentials
 * that already worked from it keep passing; counted by plane, logged once per burst. A second address is a client
 * socket bound to 127.0.0.2, or an address reported by a trusted proxy.
 */
@Order(5)
class CredentialThrottleTest {
  static final String ADMIN_TOKEN = GatewayTokensTest.ADMIN_TOKEN;
  private static final String SECOND_ADDRESS = "127.0.0.2";
  private static final int WRONG = 30;
  private static final int THRESHOLD = 5;

  @TempDir Path dir;

  private static TestCluster cluster(Path keys) {
    return GatewayTokensTest.cluster(keys);
  }

  private static String wrongToken(int i) {
    return "sk-sluice-WrongGuess" + String.format(Locale.ROOT, "%04d", i) + "abcdefghijklmnopqrstuvwxyz0123";
  }

  private static HttpResponse<String> chat(TestCluster c, String token, String... headers) {
    List<String> all = new ArrayList<>(List.of(Calls.bearer(token)));
    all.addAll(List.of(headers));
    return Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT, all.toArray(String[]::new));
  }

  /** A raw HTTP/1.1 exchange from a socket bound to {@code from} (another client address on the loopback). */
  record Answer(int status, String head, String body) {}

  static Answer fromAddress(String from, int port, String method, String path, String body, String... headers)
      throws Exception {
    try (Socket s = new Socket()) {
      s.bind(new InetSocketAddress(from, 0));
      s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      s.setSoTimeout(30_000);
      byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
      StringBuilder head = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
          + "Content-Length: " + content.length + "\r\n");
      for (int i = 0; i + 1 < headers.length; i += 2) head.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
      OutputStream out = s.getOutputStream();
      out.write(head.append("\r\n").toString().getBytes(StandardCharsets.UTF_8));
      out.write(content);
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      in.transferTo(all);
      String text = all.toString(StandardCharsets.UTF_8);
      SecretLedger.export(method + " " + path + " from " + from, text);
      int split = text.indexOf("\r\n\r\n");
      return new Answer(Integer.parseInt(text.substring(9, 12)), text.substring(0, split), text.substring(split + 4));
    }
  }

  private static List<String> logLinesSince(int before) {
    List<String> lines = LogCapture.lines();
    return lines.subList(Math.min(before, lines.size()), lines.size());
  }

  private static List<String> throttleWarnings(List<String> lines) {
    return lines.stream().filter(l -> l.contains(" WARN ") && l.contains("wrong credentials within")).toList();
  }

  private static String metrics(TestCluster c) throws Exception {
    Answer m = fromAddress(SECOND_ADDRESS, c.port(), "GET", "/metrics", null, "Authorization", "Bearer " + ADMIN_TOKEN);
    assertThat(m.status()).isEqualTo(200);
    return m.body();
  }

  @Test
  void wrongGatewayTokensFromOneAddressGet429AfterAFewWhileOtherAddressesAndTokensThatWorkedBeforeAreServed()
      throws Exception {
    Path keys = dir.resolve("keys.json");
    var before = GatewayTokensTest.key(keys, "acme", Set.of(), null, null);
    var fresh = GatewayTokensTest.key(keys, "beta", Set.of(), null, null);
    try (TestCluster c = cluster(keys).start()) {
      assertThat(chat(c, before.secret()).statusCode()).as("a token that works, before the burst").isEqualTo(200);
      int logged = LogCapture.lines().size();

      List<Integer> statuses = new ArrayList<>();
      HttpResponse<String> throttled = null;
      for (int i = 0; i < WRONG; i++) {
        HttpResponse<String> r = chat(c, wrongToken(i));
        statuses.add(r.statusCode());
        if (r.statusCode() == 429 && throttled == null) throttled = r;
      }
      assertThat(statuses.subList(0, THRESHOLD)).as("the first failures are answered as before").containsOnly(401);
      assertThat(statuses.subList(THRESHOLD, WRONG)).as("then the address waits").containsOnly(429);
      assertThat(throttled.headers().firstValue("retry-after")).hasValueSatisfying(v ->
          assertThat(Integer.parseInt(v)).isBetween(1, 10));
      JsonNode err = Json.MAPPER.readTree(throttled.body()).path("error");
      assertThat(err.path("code").asText()).isEqualTo("rate_limit_exceeded");
      assertThat(err.path("message").asText()).startsWith("too many wrong credentials from 127.0.0.1");

      assertThat(chat(c, before.secret()).statusCode()).as("a token that verified before the burst").isEqualTo(200);
      assertThat(chat(c, fresh.secret()).statusCode()).as("a valid token never seen from here is not looked at")
          .isEqualTo(429);
      Answer other = fromAddress(SECOND_ADDRESS, c.port(), "POST", "/v1/chat/completions", GatewayTokensTest.CHAT,
          "Content-Type", "application/json", "Authorization", "Bearer " + fresh.secret());
      assertThat(other.status()).as("the same token from another address").isEqualTo(200);
      Answer admin = fromAddress(SECOND_ADDRESS, c.port(), "GET", "/admin/nodes", null,
          "Authorization", "Bearer " + ADMIN_TOKEN);
      assertThat(admin.status()).as("the admin token from another address").isEqualTo(200);

      assertThat(metrics(c)).contains("sluice_credential_throttled_requests_total{plane=\"data\"} "
          + (WRONG - THRESHOLD + 1) + ".0");
      List<String> warnings = throttleWarnings(logLinesSince(logged));
      assertThat(warnings).as("one line per burst").hasSize(1);
      assertThat(warnings.get(0)).contains("client 127.0.0.1: 5 wrong credentials within 1m")
          .contains("429 for 10s").doesNotContain("WrongGuess");
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).isEqualTo(3);
    }
  }

  @Test
  void wrongAdminTokensAndConsoleSignInsFromOneAddressGet429WhileTheAdminTokenStillWorks() throws Exception {
    try (TestCluster c = cluster(dir.resolve("keys.json")).start()) {
      assertThat(Calls.get(c.url("/admin/nodes"), Calls.bearer(ADMIN_TOKEN)).statusCode()).isEqualTo(200);
      int logged = LogCapture.lines().size();
      List<Integer> statuses = new ArrayList<>();
      for (int i = 0; i < WRONG / 2; i++) {
        statuses.add(Calls.get(c.url("/admin/nodes"), Calls.bearer("sluice-admin-WrongGuess" + i)).statusCode());
        statuses.add(Calls.post(c.url("/console/login"), "token=sluice-admin-WrongSignIn" + i,
            "Content-Type", "application/x-www-form-urlencoded").statusCode());
      }
      assertThat(statuses.subList(0, THRESHOLD)).containsOnly(401);
      assertThat(statuses.subList(THRESHOLD, WRONG)).containsOnly(429);
      HttpResponse<String> login = Calls.post(c.url("/console/login"), "token=sluice-admin-WrongSignInAgain",
          "Content-Type", "application/x-www-form-urlencoded");
      assertThat(login.statusCode()).isEqualTo(429);
      assertThat(login.headers().firstValue("retry-after")).isPresent();
      // a browser's sign-in gets the form again with the wait in words (ConsoleSignInTest), not a JSON error
      assertThat(login.body()).contains("id=\"login-message\"").contains("Too many wrong credentials");

      assertThat(Calls.get(c.url("/admin/nodes"), Calls.bearer(ADMIN_TOKEN)).statusCode())
          .as("the admin token verified from here before the burst").isEqualTo(200);
      HttpResponse<String> signIn = Calls.post(c.url("/console/login"),
          "token=" + URLEncoder.encode(ADMIN_TOKEN, StandardCharsets.UTF_8),
          "Content-Type", "application/x-www-form-urlencoded");
      assertThat(signIn.statusCode()).as("and signs in to the console").isEqualTo(303);

      assertThat(metrics(c)).contains("sluice_credential_throttled_requests_total{plane=\"admin\"} "
          + (WRONG - THRESHOLD + 1) + ".0");
      assertThat(throttleWarnings(logLinesSince(logged))).hasSize(1);
    }
  }

  @Test
  void missingCredentialsAndValidTokensOnTheWrongPlaneAreNotCountedAsFailures() throws Exception {
    Path keys = dir.resolve("keys.json");
    var k = GatewayTokensTest.key(keys, "acme", Set.of(), null, null);
    var fresh = GatewayTokensTest.key(keys, "beta", Set.of(), null, null);
    try (TestCluster c = cluster(keys).start()) {
      for (int i = 0; i < WRONG; i++) {
        assertThat(Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT).statusCode()).isEqualTo(401);
        assertThat(Calls.get(c.url("/admin/nodes")).statusCode()).isEqualTo(401);
        assertThat(Calls.get(c.url("/admin/nodes"), Calls.bearer(k.secret())).statusCode()).isEqualTo(403);
      }
      assertThat(chat(c, fresh.secret()).statusCode()).isEqualTo(200);
      assertThat(metrics(c)).doesNotContain("sluice_credential_throttled_requests_total{");
    }
  }

  @Test
  void behindATrustedProxyTheAddressItReportsIsThrottledAndUntrustedPeersCannotChooseTheirs() throws Exception {
    Path keys = dir.resolve("keys.json");
    var fresh = GatewayTokensTest.key(keys, "acme", Set.of(), null, null);
    try (TestCluster c = cluster(keys).server(ServerSettings.defaults().withTrustedProxies(List.of("127.0.0.1/32")))
        .start()) {
      for (int i = 0; i < WRONG; i++) chat(c, wrongToken(i), "X-Real-IP", "198.51.100.7");
      HttpResponse<String> same = chat(c, fresh.secret(), "X-Forwarded-For", "198.51.100.7");
      assertThat(same.statusCode()).as("the proxy's client, named by X-Forwarded-For").isEqualTo(429);
      assertThat(same.body()).contains("from 198.51.100.7");
      assertThat(chat(c, fresh.secret(), "X-Real-IP", "198.51.100.8").statusCode()).as("another client").isEqualTo(200);
    }
    try (TestCluster c = cluster(keys).start()) { // no trusted proxy: the headers count for nothing
      List<Integer> statuses = new ArrayList<>();
      for (int i = 0; i < WRONG; i++) {
        statuses.add(chat(c, wrongToken(i), "X-Real-IP", "198.51.100." + i, "X-Forwarded-For", "198.51.100." + i)
            .statusCode());
      }
      assertThat(statuses.subList(THRESHOLD, WRONG)).containsOnly(429);
    }
  }
}
