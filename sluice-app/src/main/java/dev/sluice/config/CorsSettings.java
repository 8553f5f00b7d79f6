package dev.sluice.config;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Which web pages may call the API from a browser. Empty (the default): none but the gateway's own origin; a request
 * with any other {@code Origin} gets 403 and no CORS headers.
 *
 * @param allowedOrigins exact origins ({@code https://app.example.com}, lower case, no path) or {@code "*"}
 * @param allowCredentials whether browsers may send cookies/HTTP auth ({@code Access-Control-Allow-Credentials});
 *     never together with {@code "*"}
 * @param maxAge how long a browser may cache a preflight answer
 */
public record CorsSettings(List<String> allowedOrigins, boolean allowCredentials, Duration maxAge) {
  /** Ten minutes: Chromium caps preflight caching at two hours, Firefox at a day; short enough to change a config. */
  public static final Duration DEFAULT_MAX_AGE = Duration.ofMinutes(10);
  public static final String ANY = "*";

  public CorsSettings {
    allowedOrigins = allowedOrigins.stream().map(o -> o.toLowerCase(Locale.ROOT)).toList();
    Objects.requireNonNull(maxAge, "maxAge");
    if (allowCredentials && allowedOrigins.contains(ANY)) {
      throw new IllegalArgumentException("server.cors: allowCredentials with allowedOrigins \"*\" would let any web "
          + "page act with a user's credentials; list the origins explicitly or set allowCredentials to false");
    }
  }

  public static CorsSettings none() {
    return new CorsSettings(List.of(), false, DEFAULT_MAX_AGE);
  }

  /** Whether {@code origin} is listed (or every origin is). */
  public boolean allows(String origin) {
    return allowedOrigins.contains(ANY) || allowedOrigins.contains(origin.toLowerCase(Locale.ROOT));
  }

  public boolean anyOrigin() {
    return allowedOrigins.contains(ANY);
  }
}
