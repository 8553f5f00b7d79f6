package dev.sluice.server;

import dev.sluice.api.ApiFlavor;
import dev.sluice.api.ErrorKind;
import dev.sluice.console.AdminApi;
import dev.sluice.console.Console;
import dev.sluice.metrics.SluiceMetrics;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.Locale;

/**
 * The admin plane's routes: /admin/* (the {@link AdminApi}), the console's pages and sign-in, and /metrics when it is
 * protected ({@code admin.protectMetrics}). Every path here needs the admin token or a console session, except the
 * sign-in page and the console's stylesheet.
 */
final class AdminPlane {
  private final AdminApi api;
  private final AccessControl access;
  private final Console console = new Console();
  private final SluiceMetrics metrics;
  private final Outcomes outcomes;

  AdminPlane(AdminApi api, AccessControl access, SluiceMetrics metrics, Outcomes outcomes) {
    this.api = api;
    this.access = access;
    this.metrics = metrics;
    this.outcomes = outcomes;
  }

  /** /admin/*, /console and, unless admin.protectMetrics is false, /metrics. */
  boolean isAdminPath(String path) {
    return path.equals("/admin") || path.startsWith("/admin/") || path.equals("/console")
        || path.startsWith("/console/") || path.equals("/metrics") && access.admin().protectMetrics();
  }

  void handle(HttpServerRequest req, String path, Arrival start) {
    if (path.equals("/console/login")) {
      consoleLogin(req, start);
      return;
    }
    AccessControl.AdminAccess granted = access.admin(req);
    boolean consolePage = path.equals("/console") || path.startsWith("/console/");
    if (consolePage) {
      consolePage(req, path, granted, start);
      return;
    }
    if (granted != AccessControl.AdminAccess.GRANTED) {
      refused(req, granted, start);
      return;
    }
    outcomes.observe(start, "admin", SluiceMetrics.UNKNOWN, null, 200, "ok");
    if (path.equals("/metrics")) {
      req.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
          .end(metrics.scrape());
      return;
    }
    api.handle(req, path);
  }

  void refused(HttpServerRequest req, AccessControl.AdminAccess why, Arrival start) {
    if (why == AccessControl.AdminAccess.THROTTLED) {
      outcomes.throttled(req, ApiFlavor.OPENAI, "admin", access.throttled(req, AccessControl.ADMIN_PLANE), start);
      return;
    }
    ErrorKind kind = ErrorKind.UNAUTHORIZED;
    String message;
    switch (why) {
      case MISSING -> message = "unauthorized: admin token missing (send Authorization: Bearer <admin token>; the "
          + "data plane's gateway tokens do not open the admin plane)";
      case INVALID -> message = "invalid admin token";
      case DATA_PLANE_TOKEN -> {
        kind = ErrorKind.ADMIN_FORBIDDEN;
        message = "this is a data-plane gateway token; /admin, /console and /metrics need the admin token";
      }
      case CLOSED -> {
        kind = ErrorKind.ADMIN_FORBIDDEN;
        message = "the admin plane is closed: no admin token is configured (set admin.tokenSha256; "
            + "`sluice keys admin-token` makes one)";
      }
      default -> {
        kind = ErrorKind.ADMIN_FORBIDDEN;
        message = "a console session may change state only from the console (X-Sluice-Console header missing)";
      }
    }
    if (kind == ErrorKind.UNAUTHORIZED) req.response().putHeader("WWW-Authenticate", "Bearer realm=\"sluice admin\"");
    metrics.authFailure("admin_" + why.name().toLowerCase(Locale.ROOT));
    outcomes.refuse(req, ApiFlavor.OPENAI, "admin", kind, message, start);
  }

  private void consolePage(HttpServerRequest req, String path, AccessControl.AdminAccess granted, Arrival start) {
    HttpServerResponse resp = req.response();
    if (path.equals("/console/logout") && req.method() == HttpMethod.POST) {
      access.logout(req);
      Console.secure(resp).putHeader(HttpHeaders.SET_COOKIE, AccessControl.SESSION_COOKIE
          + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict").putHeader(HttpHeaders.LOCATION, "/console/login")
          .setStatusCode(303).end();
      return;
    }
    String name = path.equals("/console") ? "index.html" : path.substring("/console/".length());
    boolean publicAsset = name.equals("console.css");
    if (granted != AccessControl.AdminAccess.GRANTED && !publicAsset) {
      if (req.method() == HttpMethod.GET && name.equals("index.html")) {
        Console.secure(resp).putHeader(HttpHeaders.LOCATION, "/console/login").setStatusCode(303).end();
      } else {
        refused(req, granted, start);
      }
      return;
    }
    if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD || !console.serve(resp, name, 200)) {
      outcomes.refuse(req, ApiFlavor.OPENAI, "admin", ErrorKind.NOT_FOUND, "no such console page", start);
    }
  }

  /** GET: the sign-in form. POST (form field {@code token}): a console session cookie for the admin token. */
  private void consoleLogin(HttpServerRequest req, Arrival start) {
    HttpServerResponse resp = req.response();
    if (req.method() == HttpMethod.GET) {
      console.serveLogin(resp, 200, null);
      return;
    }
    if (req.method() != HttpMethod.POST) {
      outcomes.refuse(req, ApiFlavor.OPENAI, "admin", ErrorKind.METHOD_NOT_ALLOWED, "/console/login accepts GET and POST", start);
      return;
    }
    String len = req.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (len == null || !len.matches("\\d{1,4}")) {
      resp.putHeader(HttpHeaders.CONNECTION, "close");
      outcomes.refuse(req, ApiFlavor.OPENAI, "admin", ErrorKind.BODY_TOO_LARGE, "the sign-in form is at most 9999 bytes",
          start);
      return;
    }
    String type = req.getHeader(HttpHeaders.CONTENT_TYPE);
    if (!isFormType(type)) {
      // only the form's own encoding is decoded: anything else (multipart with a broken boundary…) is refused
      // before a decoder sees it, so a malformed sign-in costs one 400, not a stack trace in the log
      resp.putHeader(HttpHeaders.CONNECTION, "close");
      outcomes.refuse(req, ApiFlavor.OPENAI, "admin", ErrorKind.INVALID_REQUEST, "the sign-in form is sent as "
          + FORM_TYPE + (type == null ? " (no Content-Type given)" : " (got Content-Type " + Outcomes.clip(type) + ")")
          + ": sign in on the page /console/login", start);
      return;
    }
    req.setExpectMultipart(true);
    req.exceptionHandler(e -> {
      // a body the form decoder cannot read (bad percent-encoding): the client's fault, not worth a log line
      if (resp.ended() || resp.closed()) return;
      resp.putHeader(HttpHeaders.CONNECTION, "close");
      outcomes.refuse(req, ApiFlavor.OPENAI, "admin", ErrorKind.INVALID_REQUEST, "the sign-in form could not be decoded as "
          + FORM_TYPE + ": sign in on the page /console/login", start);
    });
    req.endHandler(v -> {
      if (resp.ended()) return;
      String session;
      try {
        session = access.login(req, req.getFormAttribute("token"));
      } catch (AccessControl.Throttled t) {
        // a browser gets the form again with the wait in words, not a JSON error page
        resp.putHeader(HttpHeaders.RETRY_AFTER, Long.toString(t.retryAfterSeconds()));
        metrics.credentialThrottled(t.plane());
        String m = t.getMessage();
        console.serveLogin(resp, 429, Character.toUpperCase(m.charAt(0)) + m.substring(1) + ".");
        outcomes.observe(start, "admin", SluiceMetrics.UNKNOWN, null, 429, "client_error");
        return;
      }
      if (session == null) {
        metrics.authFailure("admin_login");
        console.serveLogin(resp, 401, "That is not the admin token: sign-in failed. Paste the admin token that "
            + "./sluice demo printed, or the one whose hash is admin.tokenSha256 in the config.");
        return;
      }
      Console.secure(resp).putHeader(HttpHeaders.SET_COOKIE, AccessControl.SESSION_COOKIE + "=" + session
              + "; Path=/; HttpOnly; SameSite=Strict" + (req.isSSL() ? "; Secure" : ""))
          .putHeader(HttpHeaders.LOCATION, "/console").setStatusCode(303).end();
    });
  }

  /** The encoding of the console's sign-in form (an HTML form without enctype). */
  private static final String FORM_TYPE = "application/x-www-form-urlencoded";

  private static boolean isFormType(String contentType) {
    if (contentType == null) return false;
    int semi = contentType.indexOf(';');
    return (semi < 0 ? contentType : contentType.substring(0, semi)).strip().equalsIgnoreCase(FORM_TYPE);
  }
}
