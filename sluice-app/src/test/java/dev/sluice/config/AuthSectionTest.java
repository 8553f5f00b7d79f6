package dev.sluice.config;

import static dev.sluice.config.ConfigTexts.OK_PROVIDER;
import static dev.sluice.config.ConfigTexts.json;
import static dev.sluice.config.ConfigTexts.problems;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.auth.JwtSettings;
import org.junit.jupiter.api.Test;

/** The {@code auth} section's JWT claim names: the fair-share weight and highest priority band claims. */
class AuthSectionTest {
  private static final String JWT = "'mode': 'jwt', 'jwt': {'keys': [{'alg': 'HS256', 'secret': "
      + "'0123456789abcdef0123456789abcdef'}]";

  @Test
  void theWeightAndMaxPriorityClaimsAreNamedByConfigAndDefaultToTheKeysFieldNames() throws Exception {
    SluiceConfig c = ConfigLoader.parse(json("{'auth': {" + JWT + ", 'claims': {'weight': 'share', 'maxPriority': "
        + "'tier'}}}, 'providers': {" + OK_PROVIDER + "}}"), "auth.json");
    assertThat(c.auth().jwt().weightClaim()).isEqualTo("share");
    assertThat(c.auth().jwt().maxPriorityClaim()).isEqualTo("tier");
    assertThat(c.auth().jwt().tenantClaim()).isEqualTo("sub");

    SluiceConfig d = ConfigLoader.parse(json("{'auth': {" + JWT + "}}, 'providers': {" + OK_PROVIDER + "}}"), "d.json");
    assertThat(d.auth().jwt().weightClaim()).isEqualTo(JwtSettings.DEFAULT_WEIGHT_CLAIM).isEqualTo("weight");
    assertThat(d.auth().jwt().maxPriorityClaim()).isEqualTo(JwtSettings.DEFAULT_MAX_PRIORITY_CLAIM)
        .isEqualTo("maxPriority");
  }

  @Test
  void aMisnamedOrNonStringClaimNamesTheKeyAndTheFix() {
    assertThat(problems("{'auth': {" + JWT + ", 'claims': {'priority': 'tier'}}}, 'providers': {" + OK_PROVIDER
        + "}}")).containsExactly("config: auth.jwt.claims.priority: unknown key (known: tenant, models, limits, "
            + "weight, maxPriority)");
    assertThat(problems("{'auth': {" + JWT + ", 'claims': {'weight': 3}}}, 'providers': {" + OK_PROVIDER + "}}"))
        .containsExactly("config: auth.jwt.claims.weight: 3 must be a string: the claim holding the caller's "
            + "fair-share weight, e.g. \"weight\"");
  }
}
