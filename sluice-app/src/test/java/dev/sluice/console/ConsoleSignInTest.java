package dev.sluice.console;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AdminSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.SecretLedger;
import dev.sluice.testkit.TestCluster;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The console's sign-in form over HTTP: a wrong token gets the form again with a message saying so, and so does an
 * address that sent too many (with how long it waits).
 */
class ConsoleSignInTest {
  static final String ADMIN_TOKEN = SecretLedger.secret("sluice-admin-ConsoleSignInToken0123456789abcdefABCDEFG");

  private static HttpResponse<String> signIn(TestCluster c, String token) {
    return Http.send(HttpRequest.newBuilder(URI.create(c.url("/console/login"))).timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString("token=" + token)).build());
  }

  @Test
  void aWrongTokenGetsTheFormAgainWithAMessageAndTheRightOneASession() {
    try (TestCluster c = new TestCluster().admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(ADMIN_TOKEN)))
        .node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      HttpResponse<String> form = Http.get(c.url("/console/login"));
      assertThat(form.statusCode()).isEqualTo(200);
      assertThat(form.body()).contains("<form").doesNotContain("login-message").doesNotContain("<!--message-->");

      HttpResponse<String> wrong = signIn(c, "sluice-admin-wrong");
      assertThat(wrong.statusCode()).isEqualTo(401);
      assertThat(wrong.headers().firstValue("content-type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
      assertThat(wrong.body()).contains("<form").contains("id=\"login-message\"")
          .contains("That is not the admin token: sign-in failed.");
      assertThat(wrong.headers().firstValue("content-security-policy")).hasValue(Console.CSP);

      HttpResponse<String> right = signIn(c, ADMIN_TOKEN);
      assertThat(right.statusCode()).isEqualTo(303);
      assertThat(right.headers().firstValue("location")).hasValue("/console");
    }
  }

  @Test
  void anAddressThatSentTooManyWrongTokensGetsTheFormWithTheWaitInWordsNotAJsonError() {
    try (TestCluster c = new TestCluster().admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(ADMIN_TOKEN)))
        .node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      HttpResponse<String> last = null;
      for (int i = 0; i < 10 && (last == null || last.statusCode() != 429); i++) {
        last = signIn(c, "sluice-admin-wrong-" + i);
      }
      assertThat(last.statusCode()).isEqualTo(429);
      assertThat(last.headers().firstValue("retry-after")).hasValueSatisfying(s -> assertThat(Long.parseLong(s)).isPositive());
      assertThat(last.headers().firstValue("content-type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
      assertThat(last.headers().firstValue("content-security-policy")).hasValue(Console.CSP);
      assertThat(last.body()).contains("<form").contains("id=\"login-message\"")
          .contains("Too many wrong credentials from").contains("retry after that with a valid token");
    }
  }
}
