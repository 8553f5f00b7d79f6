package dev.sluice.console;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The web console's static files, bundled in the jar under {@code console/}. Only plain file names of known types are
 * served (no sub-directories, no dots but the extension's), so no request path can reach anything else on the class
 * path or the disk. Every answer carries a strict content security policy and is never cached.
 */
public final class Console {
  private static final Pattern FILE = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}\\.(html|js|css|svg|png)");
  private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8",
      "js", "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8", "svg", "image/svg+xml",
      "png", "image/png");
  static final String CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
      + "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
  private static final Buffer MISSING = Buffer.buffer();
  private final Map<String, Buffer> files = new ConcurrentHashMap<>();

  /** Serves {@code name} (e.g. "index.html"); false when there is no such file (the caller answers 404). */
  public boolean serve(HttpServerResponse resp, String name, int status) {
    if (!FILE.matcher(name).matches()) return false;
    Buffer body = files.computeIfAbsent(name, Console::load);
    if (body == MISSING) return false;
    secure(resp).setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, TYPES.get(name.substring(name.lastIndexOf('.') + 1)))
        .end(body);
    return true;
  }

  /** Where login.html takes the sign-in message. */
  static final String LOGIN_MESSAGE_MARK = "<!--message-->";

  /**
   * The sign-in page with {@code message} (null: none) shown above the form, e.g. why the last sign-in failed; the
   * text is HTML-escaped, and the page needs no script for it.
   */
  public void serveLogin(HttpServerResponse resp, int status, String message) {
    Buffer page = files.computeIfAbsent("login.html", Console::load);
    if (page == MISSING) {
      secure(resp).setStatusCode(status).end(message == null ? "" : message);
      return;
    }
    String html = page.toString(StandardCharsets.UTF_8).replace(LOGIN_MESSAGE_MARK, message == null ? ""
        : "<p id=\"login-message\" class=\"message error\" role=\"alert\">" + escape(message) + "</p>");
    secure(resp).setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, TYPES.get("html"))
        .end(Buffer.buffer(html.getBytes(StandardCharsets.UTF_8)));
  }

  private static String escape(String text) {
    StringBuilder b = new StringBuilder(text.length() + 16);
    for (char c : text.toCharArray()) {
      switch (c) {
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '&' -> b.append("&amp;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }

  /**
   * Headers every console answer carries. The referrer policy is {@code same-origin}, not {@code no-referrer}: with
   * no-referrer a browser sends {@code Origin: null} on the sign-in form's POST, which the CORS check refuses.
   */
  public static HttpServerResponse secure(HttpServerResponse resp) {
    return resp.putHeader("Content-Security-Policy", CSP)
        .putHeader("X-Frame-Options", "DENY")
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Referrer-Policy", "same-origin")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store");
  }

  private static Buffer load(String name) {
    try (InputStream in = Console.class.getClassLoader().getResourceAsStream("console/" + name)) {
      return in == null ? MISSING : Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      return MISSING;
    }
  }
}
