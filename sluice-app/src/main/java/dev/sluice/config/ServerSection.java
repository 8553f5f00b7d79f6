package dev.sluice.config;

import static dev.sluice.config.ConfigReader.DURATION;
import static dev.sluice.config.ConfigReader.TLS_DOC;
import static dev.sluice.config.ConfigReader.show;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.auth.FailureBackoff;
import dev.sluice.config.ConfigReader.Pem;
import dev.sluice.support.IpRange;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code server} section (listener, body and header limits, {@code tls}, {@code cors}, {@code trustedProxies},
 * {@code failedCredentials}) and the {@code admin} section (admin token, admin listener, node networks).
 */
final class ServerSection {
  private static final List<String> SERVER_KEYS = List.of("host", "port", "maxBodyBytes", "maxJsonDepth",
      "maxHeaderBytes", "cors", "tls", "requestHeadTimeout", "keepAliveTimeout", "bodyReadTimeout",
      "maxConnectionsPerClient", "maxUploadBytesInProgress", "maxUploadBytesInProgressPerTenant", "trustedProxies",
      "failedCredentials");
  private static final List<String> SERVER_TLS_KEYS = List.of("certFile", "keyFile", "redirectHttpPort", "hstsMaxAge");
  private static final List<String> FAILED_CREDENTIALS_KEYS = List.of("failures", "window", "maxBackoff");
  private static final List<String> CORS_KEYS = List.of("allowedOrigins", "allowCredentials", "maxAge");
  private static final Pattern ORIGIN =
      Pattern.compile("https?://[A-Za-z0-9.-]+(:\\d{1,5})?|https?://\\[[0-9A-Fa-f:.]+\\](:\\d{1,5})?");
  private static final List<String> ADMIN_KEYS = List.of("tokenSha256", "host", "port", "protectMetrics",
      "allowNodeNetworks");
  private static final Pattern CIDR = Pattern.compile("[0-9A-Fa-f:.]+/\\d{1,3}");

  private final ConfigReader r;

  ServerSection(ConfigReader r) {
    this.r = r;
  }

  ServerSettings server(JsonNode node) {
    if (!r.isObject(node, "server")) return ServerSettings.defaults();
    r.rejectUnknown(node, "server", SERVER_KEYS);
    String host = ServerSettings.DEFAULT_HOST;
    JsonNode h = node.get("host");
    if (h != null) {
      if (h.isTextual() && !h.asText().isBlank()) host = h.asText();
      else r.problem("server.host", show(h) + " must be a host name or IP address to bind, e.g. \"0.0.0.0\"");
    }
    int port = ServerSettings.DEFAULT_PORT;
    JsonNode p = node.get("port");
    if (p != null) {
      if (p.isIntegralNumber() && p.canConvertToInt() && p.asInt() >= 0 && p.asInt() <= 65535) port = p.asInt();
      else r.problem("server.port", show(p) + " must be a TCP port 0..65535 (0 = any free port)");
    }
    long maxBody = ServerSettings.DEFAULT_MAX_BODY_BYTES;
    JsonNode b = node.get("maxBodyBytes");
    if (b != null) {
      if (b.isIntegralNumber() && b.canConvertToLong() && b.asLong() > 0) maxBody = b.asLong();
      else r.problem("server.maxBodyBytes", show(b) + " must be a positive integer (bytes), e.g. 10485760");
    }
    int depth = ServerSettings.DEFAULT_MAX_JSON_DEPTH;
    JsonNode dp = node.get("maxJsonDepth");
    if (dp != null) {
      if (dp.isIntegralNumber() && dp.canConvertToInt() && dp.asInt() >= ServerSettings.MIN_JSON_DEPTH
          && dp.asInt() <= ServerSettings.MAX_JSON_DEPTH) {
        depth = dp.asInt();
      } else {
        r.problem("server.maxJsonDepth", show(dp) + " must be an integer " + ServerSettings.MIN_JSON_DEPTH + ".."
            + ServerSettings.MAX_JSON_DEPTH + " (nesting levels)");
      }
    }
    int headers = ServerSettings.DEFAULT_MAX_HEADER_BYTES;
    JsonNode hb = node.get("maxHeaderBytes");
    if (hb != null) {
      if (hb.isIntegralNumber() && hb.canConvertToInt() && hb.asInt() >= 1024 && hb.asInt() <= 1 << 20) {
        headers = hb.asInt();
      } else {
        r.problem("server.maxHeaderBytes", show(hb) + " must be an integer 1024..1048576 (bytes)");
      }
    }
    TlsSettings tls = serverTls(node.get("tls"), port);
    Duration head = r.duration(node, "server", "requestHeadTimeout", ServerSettings.DEFAULT_REQUEST_HEAD_TIMEOUT);
    Duration keepAlive = r.duration(node, "server", "keepAliveTimeout", ServerSettings.DEFAULT_KEEP_ALIVE_TIMEOUT);
    Duration bodyRead = r.duration(node, "server", "bodyReadTimeout", ServerSettings.DEFAULT_BODY_READ_TIMEOUT);
    int perClient = ServerSettings.DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
    JsonNode pc = node.get("maxConnectionsPerClient");
    if (pc != null) {
      if (pc.isIntegralNumber() && pc.canConvertToInt() && pc.asInt() >= 0) {
        perClient = pc.asInt();
      } else {
        r.problem("server.maxConnectionsPerClient", show(pc) + " must be a whole number ≥ 0 (open connections from "
            + "one client address; 0 = no cap, the right choice behind a proxy)");
      }
    }
    // null or left out: derived from the heap when the gateway runs
    long uploads = node.path("maxUploadBytesInProgress").isNull() ? ServerSettings.DERIVED_FROM_HEAP
        : r.positiveLong(node, "server", "maxUploadBytesInProgress", "bytes; leave it out for an eighth of the heap",
            ServerSettings.DERIVED_FROM_HEAP);
    long uploadsPerTenant = node.path("maxUploadBytesInProgressPerTenant").isNull()
        ? ServerSettings.DERIVED_FROM_HEAP
        : r.positiveLong(node, "server", "maxUploadBytesInProgressPerTenant", "bytes; leave it out for a quarter of "
            + "maxUploadBytesInProgress", ServerSettings.DERIVED_FROM_HEAP);
    if (uploads > 0 && uploads < maxBody) {
      r.problem("server.maxUploadBytesInProgress", uploads + " is below server.maxBodyBytes (" + maxBody + "): a body "
          + "of the largest allowed size could never be read; raise it or lower maxBodyBytes");
    }
    if (uploadsPerTenant > 0 && uploadsPerTenant < maxBody) {
      r.problem("server.maxUploadBytesInProgressPerTenant", uploadsPerTenant + " is below server.maxBodyBytes ("
          + maxBody + "): a body of the largest allowed size could never be read; raise it or lower maxBodyBytes");
    }
    if (uploads > 0 && uploadsPerTenant > uploads) {
      r.problem("server.maxUploadBytesInProgressPerTenant", uploadsPerTenant + " is above "
          + "server.maxUploadBytesInProgress (" + uploads + "): one tenant cannot hold more than all tenants; lower "
          + "it or raise the total");
    }
    return new ServerSettings(host, port, maxBody, depth, headers, cors(node.get("cors")), tls, head, keepAlive,
        bodyRead, perClient, uploads, uploadsPerTenant, trustedProxies(node.get("trustedProxies")),
        failedCredentials(node.get("failedCredentials")));
  }

  /** {@code server.trustedProxies}: CIDR ranges (or single addresses) of proxies that report the client's address. */
  private List<String> trustedProxies(JsonNode n) {
    List<String> ranges = new ArrayList<>();
    if (n == null || !r.isArray(n, "server.trustedProxies")) return ranges;
    for (int i = 0; i < n.size(); i++) {
      String v = n.get(i).isTextual() ? n.get(i).asText() : null;
      if (v != null && IpRange.valid(v)) ranges.add(v);
      else r.problem("server.trustedProxies[" + i + "]", show(n.get(i)) + " is not an IP address or CIDR range like "
          + "\"10.0.0.5\" or \"10.0.0.0/8\" (the addresses your reverse proxies connect from)");
    }
    return ranges;
  }

  /** {@code server.failedCredentials}: the backoff for addresses that keep sending wrong credentials. */
  private FailureBackoff.Settings failedCredentials(JsonNode node) {
    var d = FailureBackoff.Settings.defaults();
    if (node == null || !r.isObject(node, "server.failedCredentials")) return d;
    r.rejectUnknown(node, "server.failedCredentials", FAILED_CREDENTIALS_KEYS);
    int failures = d.failures();
    JsonNode f = node.get("failures");
    if (f != null) {
      if (f.isIntegralNumber() && f.canConvertToInt() && f.asInt() >= 0
          && f.asInt() <= FailureBackoff.Settings.MAX_FAILURES) {
        failures = f.asInt();
      } else {
        r.problem("server.failedCredentials.failures", show(f) + " must be an integer 0.."
            + FailureBackoff.Settings.MAX_FAILURES + " (failures per window; 0 = never throttle)");
      }
    }
    Duration window = r.duration(node, "server.failedCredentials", "window", d.window());
    Duration max = r.duration(node, "server.failedCredentials", "maxBackoff", d.maxBackoff());
    if (max.compareTo(FailureBackoff.FIRST_BACKOFF) < 0) {
      r.problem("server.failedCredentials.maxBackoff", show(node.get("maxBackoff")) + " must be at least \""
          + FailureBackoff.FIRST_BACKOFF.toSeconds() + "s\" (the first wait)");
      max = d.maxBackoff();
    }
    return new FailureBackoff.Settings(failures, window, max);
  }

  /** {@code server.tls}: certFile and keyFile together, both readable PEM files; the key's text is never shown. */
  private TlsSettings serverTls(JsonNode node, int httpsPort) {
    if (node == null || !r.isObject(node, "server.tls")) return null;
    r.rejectUnknown(node, "server.tls", SERVER_TLS_KEYS);
    boolean hasCert = node.has("certFile");
    boolean hasKey = node.has("keyFile");
    if (!hasCert) {
      r.problem("server.tls.certFile", "missing; give the PEM certificate chain, e.g. \"/etc/sluice/tls/cert.pem\""
          + (hasKey ? ", to go with keyFile" : "") + " (" + TLS_DOC + ")");
    }
    if (!hasKey) {
      r.problem("server.tls.keyFile", "missing; give the PEM private key of the certificate, e.g. "
          + "\"/etc/sluice/tls/key.pem\"" + (hasCert ? ", to go with certFile" : "") + " (" + TLS_DOC + ")");
    }
    Path cert = hasCert ? r.pemFile(node, "server.tls", "certFile", Pem.CERTIFICATE) : null;
    Path key = hasKey ? r.pemFile(node, "server.tls", "keyFile", Pem.PRIVATE_KEY) : null;
    Integer redirect = null;
    JsonNode redirectPort = node.get("redirectHttpPort");
    if (redirectPort != null) {
      if (redirectPort.isIntegralNumber() && redirectPort.canConvertToInt() && redirectPort.asInt() >= 0
          && redirectPort.asInt() <= 65535) {
        redirect = redirectPort.asInt();
        if (redirect != 0 && redirect == httpsPort) {
          r.problem("server.tls.redirectHttpPort", redirect + " is server.port, where HTTPS listens; give another "
              + "port (usually 80) or leave it out");
        }
      } else {
        r.problem("server.tls.redirectHttpPort", show(redirectPort) + " must be a TCP port 1..65535 (usually 80; 0 = "
            + "any free port, for tests)");
      }
    }
    Duration hsts = TlsSettings.DEFAULT_HSTS_MAX_AGE;
    JsonNode hm = node.get("hstsMaxAge");
    if (hm != null) {
      Matcher m = hm.isTextual() ? DURATION.matcher(hm.asText()) : null;
      if (hm.isTextual() && hm.asText().equals("0") || m != null && m.matches() && Long.parseLong(m.group(1)) == 0) {
        hsts = Duration.ZERO;
      } else if (m != null && m.matches() && !m.group(2).equals("ms")) {
        hsts = r.duration(node, "server.tls", "hstsMaxAge", hsts);
      } else {
        r.problem("server.tls.hstsMaxAge", show(hm) + " must be a duration in seconds, minutes or hours like \"8760h\" "
            + "(365 days, the default), or \"0\" to send no Strict-Transport-Security header");
      }
    }
    return cert == null || key == null ? null : new TlsSettings(cert, key, redirect, hsts);
  }

  private CorsSettings cors(JsonNode node) {
    if (node == null || !r.isObject(node, "server.cors")) return CorsSettings.none();
    r.rejectUnknown(node, "server.cors", CORS_KEYS);
    List<String> origins = new ArrayList<>();
    JsonNode o = node.get("allowedOrigins");
    if (o != null && r.isArray(o, "server.cors.allowedOrigins")) {
      for (int i = 0; i < o.size(); i++) {
        String v = o.get(i).isTextual() ? o.get(i).asText() : null;
        if (v != null && (v.equals(CorsSettings.ANY) || ORIGIN.matcher(v).matches())) {
          origins.add(v);
          if (v.equals(CorsSettings.ANY)) {
            r.warning("server.cors.allowedOrigins", "\"*\" lets any web page call this gateway from a visitor's "
                + "browser; list the origins that need it");
          }
        } else {
          r.problem("server.cors.allowedOrigins[" + i + "]", show(o.get(i)) + " is not an origin (expected "
              + "\"https://host[:port]\" without a path, or \"*\")");
        }
      }
    }
    boolean credentials = r.bool(node, "server.cors", "allowCredentials", false);
    Duration maxAge = r.duration(node, "server.cors", "maxAge", CorsSettings.DEFAULT_MAX_AGE);
    try {
      return new CorsSettings(origins, credentials, maxAge);
    } catch (IllegalArgumentException e) {
      r.settingsProblem(e);
      return CorsSettings.none();
    }
  }

  AdminSettings admin(JsonNode node) {
    var d = AdminSettings.defaults();
    if (node == null || !r.isObject(node, "admin")) return d;
    r.rejectUnknown(node, "admin", ADMIN_KEYS);
    String token = r.optionalString(node, "admin", "tokenSha256", "the SHA-256 (hex) of the admin token");
    if (token != null && !token.matches("[0-9a-fA-F]{64}")) {
      r.problem("admin.tokenSha256", "is not a SHA-256 in hex (64 hex digits); `sluice keys admin-token` prints a new "
          + "admin token and the line to put here");
      token = null;
    }
    String host = d.host();
    String h = r.optionalString(node, "admin", "host", "the admin listener's bind address, e.g. \"127.0.0.1\"");
    if (h != null && !h.isBlank()) host = h;
    int port = d.port();
    JsonNode p = node.get("port");
    if (p != null) {
      if (p.isIntegralNumber() && p.canConvertToInt() && p.asInt() >= 0 && p.asInt() <= 65535) port = p.asInt();
      else r.problem("admin.port", show(p) + " must be a TCP port 0..65535 for a separate admin listener (leave it out "
          + "to serve /admin and /console on the main port)");
    }
    boolean protectMetrics = r.bool(node, "admin", "protectMetrics", d.protectMetrics());
    List<String> nets = new ArrayList<>();
    JsonNode n = node.get("allowNodeNetworks");
    if (n != null && r.isArray(n, "admin.allowNodeNetworks")) {
      for (int i = 0; i < n.size(); i++) {
        String v = n.get(i).isTextual() ? n.get(i).asText() : null;
        if (v != null && CIDR.matcher(v).matches() && IpRange.valid(v)) nets.add(v);
        else r.problem("admin.allowNodeNetworks[" + i + "]", show(n.get(i)) + " is not a CIDR range like "
            + "\"169.254.0.0/16\"");
      }
    }
    return new AdminSettings(token, host, port, protectMetrics, nets);
  }
}
