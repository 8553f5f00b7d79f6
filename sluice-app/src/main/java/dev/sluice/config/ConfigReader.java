package dev.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What every config section shares: the list of problems and warnings, and the typed reads that add to it (strings,
 * whole numbers, shares, durations, URLs, PEM files, the unknown-key check). Every message starts with {@code config:}
 * and the key's full path, shows the offending value ({@link #show}, cut to 80 characters) and says the fix.
 */
final class ConfigReader {
  /** Offending values are quoted up to this many characters so one bad line stays readable. */
  private static final int MAX_VALUE_CHARS = 80;
  /** "250ms", "2s", "5m", "1h": a whole number and one unit. */
  static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
  /** A byte size: a number of bytes, or a count with KB, MB or GB (binary multiples; KiB, MiB, GiB alike). */
  static final Pattern BYTE_SIZE = Pattern.compile("(\\d{1,9})\\s*([KMG])i?B", Pattern.CASE_INSENSITIVE);
  /** Where a message about a missing or wrong TLS file sends the reader. */
  static final String TLS_DOC = "generate a test certificate: see docs/tls.md";

  private final List<String> problems = new ArrayList<>();
  private final List<String> warnings = new ArrayList<>();
  /** Relative file paths in the config (TLS files) are resolved against the config file's directory. */
  private final Path baseDir;

  /** A reader for the config file named by {@code source}: relative paths resolve against its directory. */
  ConfigReader(String source) {
    this.baseDir = directoryOf(source);
  }

  /** Every problem so far, in the order found; the config is valid when this is empty. */
  List<String> problems() {
    return problems;
  }

  /** Every warning so far, in the order found. */
  List<String> warnings() {
    return warnings;
  }

  /** Renders a value for a message: JSON text, strings quoted, cut to {@link #MAX_VALUE_CHARS}. */
  static String show(JsonNode value) {
    return value.isTextual() ? quote(value.asText()) : cut(value.toString());
  }

  /** {@code s} as a quoted JSON string, cut to {@link #MAX_VALUE_CHARS}. */
  static String quote(String s) {
    return Json.MAPPER.getNodeFactory().textNode(cut(s)).toString();
  }

  /** {@code s}, or its first {@link #MAX_VALUE_CHARS} characters and "...". */
  static String cut(String s) {
    return s.length() <= MAX_VALUE_CHARS ? s : s.substring(0, MAX_VALUE_CHARS) + "...";
  }

  /** Records {@code config: path: message}; the config is refused. */
  void problem(String path, String message) {
    problems.add("config: " + path + ": " + message);
  }

  /** Records {@code config: path: message} as a warning; the config still loads. */
  void warning(String path, String message) {
    warnings.add("config: " + path + ": " + message);
  }

  /** A settings record refused its values; its message already names the key and the fix. */
  void settingsProblem(IllegalArgumentException e) {
    problems.add(e.getMessage().startsWith("config: ") ? e.getMessage() : "config: " + e.getMessage());
  }

  /** True when {@code node} is present and an object; records a problem when present and not an object. */
  boolean isObject(JsonNode node, String path) {
    if (node == null) return false;
    if (node.isObject()) return true;
    problem(path, show(node) + " must be a JSON object {...}");
    return false;
  }

  /** True when {@code node} is an array; records a problem when it is not. */
  boolean isArray(JsonNode node, String path) {
    if (node.isArray()) return true;
    problem(path, show(node) + " must be a JSON array [...]");
    return false;
  }

  /** Each key of {@code node} not in {@code known} is a problem (Sluice's own blocks). */
  void rejectUnknown(JsonNode node, String path, List<String> known) {
    for (String key : unknownKeys(node, known)) {
      problem(join(path, key), "unknown key (known: " + String.join(", ", known) + ")");
    }
  }

  /** Each key of {@code node} not in {@code known} is a warning (Clawdbot's blocks carry keys Sluice does not read). */
  void tolerateUnknown(JsonNode node, String path, List<String> known) {
    for (String key : unknownKeys(node, known)) {
      warning(join(path, key), "unknown key, ignored (Sluice reads: " + String.join(", ", known) + ")");
    }
  }

  private static Set<String> unknownKeys(JsonNode node, List<String> known) {
    Set<String> unknown = new LinkedHashSet<>();
    node.fieldNames().forEachRemaining(k -> {
      if (!known.contains(k)) unknown.add(k);
    });
    return unknown;
  }

  private static String join(String path, String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  /** A non-blank string; null (and a problem naming {@code what} to give) when missing or not one. */
  String requiredString(JsonNode parent, String path, String key, String what) {
    JsonNode v = parent.get(key);
    if (v == null) {
      problem(path + "." + key, "missing; give " + what);
      return null;
    }
    if (!v.isTextual() || v.asText().isBlank()) {
      problem(path + "." + key, show(v) + " must be a non-empty string: " + what);
      return null;
    }
    return v.asText();
  }

  /** A string, or null when absent; null and a problem when present and not a string. */
  String optionalString(JsonNode parent, String path, String key, String what) {
    JsonNode v = parent.get(key);
    if (v == null) return null;
    if (v.isTextual()) return v.asText();
    problem(path + "." + key, show(v) + " must be a string: " + what);
    return null;
  }

  /** true or false; {@code fallback} when absent or invalid (invalid is recorded). */
  boolean bool(JsonNode parent, String path, String key, boolean fallback) {
    JsonNode v = parent.get(key);
    if (v == null) return fallback;
    if (v.isBoolean()) return v.asBoolean();
    problem(path + "." + key, show(v) + " must be true or false");
    return fallback;
  }

  /** Reads an optional positive int; {@code fallback} when absent or invalid (invalid is recorded). */
  int positiveInt(JsonNode parent, String path, String key, String unit, int fallback) {
    JsonNode v = parent.get(key);
    if (v == null) return fallback;
    if (v.isIntegralNumber() && v.canConvertToInt() && v.asInt() > 0) return v.asInt();
    problem(path + "." + key, show(v) + " must be a positive integer (" + unit + ")");
    return fallback;
  }

  /** Reads an optional positive long; {@code fallback} when absent or invalid (invalid is recorded). */
  long positiveLong(JsonNode parent, String path, String key, String unit, long fallback) {
    JsonNode v = parent.get(key);
    if (v == null) return fallback;
    if (v.isIntegralNumber() && v.canConvertToLong() && v.asLong() > 0) return v.asLong();
    problem(path + "." + key, show(v) + " must be a positive integer (" + unit + ")");
    return fallback;
  }

  /** A share in [0, 1] (0 allowed only when {@code zeroAllowed}); "5%" strings are accepted too. */
  double fraction(JsonNode parent, String path, String key, double fallback, boolean zeroAllowed) {
    JsonNode v = parent.get(key);
    if (v == null) return fallback;
    double d = Double.NaN;
    if (v.isNumber()) d = v.asDouble();
    else if (v.isTextual() && v.asText().trim().matches("\\d+(\\.\\d+)?\\s*%")) {
      d = Double.parseDouble(v.asText().trim().replace("%", "").trim()) / 100.0;
    }
    if (!(d <= 1.0) || d < 0 || (d == 0 && !zeroAllowed)) {
      problem(path + "." + key, show(v) + " must be a share between " + (zeroAllowed ? "0" : "0 (exclusive)")
          + " and 1, e.g. 0.05 or \"5%\"");
      return fallback;
    }
    return d;
  }

  /** A positive {@link #DURATION}; {@code fallback} when absent or invalid (invalid is recorded). */
  Duration duration(JsonNode parent, String path, String key, Duration fallback) {
    JsonNode v = parent.get(key);
    if (v == null) return fallback;
    Matcher m = v.isTextual() ? DURATION.matcher(v.asText()) : null;
    if (m == null || !m.matches() || Long.parseLong(m.group(1)) == 0) {
      problem(path + "." + key, show(v) + " must be a positive duration like \"250ms\", \"2s\", \"5m\" or \"1h\"");
      return fallback;
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
  }

  /**
   * A positive byte size: an integer (bytes) or a {@link #BYTE_SIZE} string like {@code "16MB"} (binary multiples:
   * 16 × 1,048,576 bytes); {@code fallback} when absent or invalid (invalid is recorded).
   */
  long byteSize(JsonNode parent, String path, String key, long fallback) {
    JsonNode v = parent.get(key);
    if (v == null) return fallback;
    if (v.isIntegralNumber() && v.canConvertToLong() && v.asLong() > 0) return v.asLong();
    Matcher m = v.isTextual() ? BYTE_SIZE.matcher(v.asText().trim()) : null;
    if (m != null && m.matches() && Long.parseLong(m.group(1)) > 0) {
      int shift = switch (Character.toUpperCase(m.group(2).charAt(0))) {
        case 'K' -> 10;
        case 'M' -> 20;
        default -> 30;
      };
      return Long.parseLong(m.group(1)) << shift;
    }
    problem(path + "." + key, show(v) + " must be a positive size like \"512KB\", \"16MB\" or \"1GB\", or a number "
        + "of bytes");
    return fallback;
  }

  /** A positive {@link #DURATION}; null when absent or invalid (invalid is recorded). */
  Duration durationOrNull(JsonNode parent, String path, String key) {
    return parent.get(key) == null ? null : duration(parent, path, key, null);
  }

  /** Validates an absolute http(s) URL with a host; records a problem and returns null when it is not one. */
  URI url(JsonNode v, String path, boolean queryAllowed) {
    String expected = " is not a URL (expected http(s)://host:port)";
    if (!v.isTextual()) {
      problem(path, show(v) + expected);
      return null;
    }
    URI uri;
    try {
      uri = new URI(v.asText());
    } catch (URISyntaxException e) {
      problem(path, show(v) + expected);
      return null;
    }
    String scheme = uri.getScheme();
    boolean httpScheme = "http".equalsIgnoreCase(scheme) || "https".equalsIgnoreCase(scheme);
    if (!httpScheme || uri.isOpaque() || uri.getRawAuthority() == null) {
      problem(path, show(v) + expected);
    } else if (uri.getHost() == null) {
      problem(path, show(v) + " has no valid host (expected http(s)://host:port; host names may not contain '_')");
    } else if (uri.getRawUserInfo() != null) {
      problem(path, show(v) + " must not carry user:password@; put the key in apiKey");
    } else if (uri.getRawQuery() != null && !queryAllowed) {
      problem(path, show(v) + " must not carry a query (?...); give the base URL only");
    } else if (uri.getRawFragment() != null) {
      problem(path, show(v) + " must not carry a fragment (#...); remove it");
    } else {
      return uri;
    }
    return null;
  }

  /** {@code file} resolved against the directory of the config file {@code source}. */
  static Path relativeTo(String source, String file) {
    Path p = Path.of(file);
    if (p.isAbsolute()) return p;
    Path dir = Path.of(source).toAbsolutePath().getParent();
    return dir == null ? p : dir.resolve(p);
  }

  /** The directory of the config file named by {@code source}; the working directory when it has none. */
  private static Path directoryOf(String source) {
    if (source == null) return Path.of("");
    try {
      Path parent = Path.of(source).toAbsolutePath().getParent();
      return parent != null && Files.isDirectory(parent) ? parent : Path.of("");
    } catch (InvalidPathException e) {
      return Path.of("");
    }
  }

  /** What a PEM file must hold. */
  enum Pem { CERTIFICATE, PRIVATE_KEY }

  /**
   * A PEM file named by {@code parent.key}, resolved against the config's directory; null (and a problem) when it is
   * missing, unreadable or holds no PEM block of the expected kind. Messages name the path, never the contents.
   */
  Path pemFile(JsonNode parent, String path, String key, Pem kind) {
    String at = path + "." + key;
    JsonNode v = parent.get(key);
    if (!v.isTextual() || v.asText().isBlank()) {
      problem(at, show(v) + " must be a file path (" + TLS_DOC + ")");
      return null;
    }
    Path file;
    try {
      file = baseDir.resolve(v.asText()).toAbsolutePath().normalize();
    } catch (InvalidPathException e) {
      problem(at, show(v) + " is not a valid file path");
      return null;
    }
    String shown = file.toString();
    if (!Files.exists(file)) {
      problem(at, shown + " does not exist (" + TLS_DOC + ")");
      return null;
    }
    if (!Files.isRegularFile(file)) {
      problem(at, shown + " is not a regular file (expected a PEM file)");
      return null;
    }
    String text;
    try {
      text = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      problem(at, shown + " is not readable (make it readable by the gateway's user)");
      return null;
    }
    if (kind == Pem.CERTIFICATE && !text.contains("-----BEGIN CERTIFICATE-----")) {
      problem(at, shown + " holds no PEM certificate (expected \"-----BEGIN CERTIFICATE-----\"; convert DER with "
          + "openssl x509 -inform der -in FILE -out FILE.pem)");
      return null;
    }
    if (kind == Pem.PRIVATE_KEY) {
      if (text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
        problem(at, shown + " is an encrypted key; Sluice reads unencrypted PEM keys (decrypt it with openssl pkey "
            + "-in FILE -out FILE.plain and keep that file readable by the gateway only)");
        return null;
      }
      if (!text.contains("-----BEGIN PRIVATE KEY-----") && !text.contains("-----BEGIN RSA PRIVATE KEY-----")
          && !text.contains("-----BEGIN EC PRIVATE KEY-----")) {
        problem(at, shown + " holds no PEM private key (expected \"-----BEGIN PRIVATE KEY-----\", or RSA/EC "
            + "PRIVATE KEY)");
        return null;
      }
    }
    return file;
  }
}
