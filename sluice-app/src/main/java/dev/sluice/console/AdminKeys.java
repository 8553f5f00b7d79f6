package dev.sluice.console;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.api.ErrorKind;
import dev.sluice.auth.ApiKey;
import dev.sluice.auth.KeyFile;
import dev.sluice.config.SluiceConfig;
import dev.sluice.flow.Band;
import dev.sluice.http.Responses;
import dev.sluice.limit.Limits;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The gateway tokens of the admin API: {@code GET /admin/keys} (their public view), {@code POST /admin/keys} (a new
 * token, shown once) and {@code DELETE /admin/keys/{id}} (revoked at once).
 */
final class AdminKeys {
  /** A token's note says who holds it and what for: a sentence or two, not a document. */
  static final int MAX_NOTE_CHARS = 500;
  static final List<String> KEY_FIELDS =
      List.of("tenant", "models", "limits", "weight", "maxPriority", "expiresAt", "note");
  private static final List<String> BANDS = Arrays.stream(Band.values()).map(Band::label).toList();
  static final List<String> LIMIT_FIELDS =
      List.of("requestsPerMinute", "tokensPerMinute", "concurrent");

  private final Vertx vertx;
  private final KeyStore keys;
  /** Dates the keys' public view (expired or not). */
  private final Clock clock;
  private final Supplier<SluiceConfig> config;

  AdminKeys(Vertx vertx, KeyStore keys, Clock clock, Supplier<SluiceConfig> config) {
    this.vertx = vertx;
    this.keys = keys;
    this.clock = clock;
    this.config = config;
  }

  void handle(HttpServerRequest req, String path) {
    if (path.equals("/admin/keys") && req.method() == HttpMethod.GET) {
      ObjectNode root = Json.MAPPER.createObjectNode();
      ArrayNode list = root.putArray("keys");
      long now = clock.millis();
      for (ApiKey k : keys.keys()) list.add(KeyFile.publicView(k, now));
      Responses.json(req.response(), 200, root.toString());
      return;
    }
    if (path.equals("/admin/keys") && req.method() == HttpMethod.POST) {
      req.body().onSuccess(body -> createKey(req, body));
      return;
    }
    String id = path.substring("/admin/keys/".length());
    if (path.startsWith("/admin/keys/") && req.method() == HttpMethod.DELETE && !id.isEmpty()) {
      AdminApi.withoutBody(req, "DELETE /admin/keys/{id}", () -> revokeKey(req, id));
      return;
    }
    Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.METHOD_NOT_ALLOWED,
        "gateway tokens: GET /admin/keys, POST /admin/keys, DELETE /admin/keys/{id}", null);
  }

  private void revokeKey(HttpServerRequest req, String id) {
    vertx.executeBlocking(() -> keys.revokeKey(id)).onComplete(ar -> {
      if (ar.failed()) {
        Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INTERNAL,
            "could not save the keys file: " + ar.cause().getMessage(), null);
      } else if (ar.result() == null) {
        Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.NOT_FOUND,
            "no gateway token with that id (GET /admin/keys lists them)", "id");
      } else {
        Responses.json(req.response(), 200,
            KeyFile.publicView(ar.result(), clock.millis()).toString());
      }
    });
  }

  private void createKey(HttpServerRequest req, Buffer body) {
    String usage = "send {\"tenant\": \"acme\", \"models\": [\"qwen3:32b\"] (optional, default all), \"limits\": "
        + "{\"requestsPerMinute\": 60, \"tokensPerMinute\": 0, \"concurrent\": 0} (optional), \"weight\": 2 "
        + "(optional, 1 to " + ApiKey.MAX_WEIGHT + "), \"maxPriority\": \"interactive\" or \"batch\" (optional), "
        + "\"expiresAt\": \"2027-01-01T00:00:00Z\" (optional), \"note\": \"…\" (optional)}";
    SluiceConfig c = config.get();
    String tenant;
    Set<String> models = new LinkedHashSet<>();
    Limits limits = null;
    int weight;
    Band maxBand;
    Instant expires;
    String note;
    try {
      AdminBody b = AdminBody.object(body.getBytes(), KEY_FIELDS, usage);
      tenant = b.text("tenant", true, AdminApi.MAX_NAME_CHARS, "a tenant id like \"acme\"");
      List<String> wanted = b.texts("models", "ids of configured models like [\"qwen3:32b\"], or leave "
          + "\"models\" out for every model");
      for (String m : wanted == null ? List.<String>of() : wanted) {
        if (c.model(m).isEmpty()) {
          throw new AdminBody.Refused("models", "models: \"" + m + "\" is not a configured model (configured: "
              + String.join(", ", c.models().keySet()) + ")");
        }
        models.add(m);
      }
      AdminBody l = b.object("limits", LIMIT_FIELDS, "like {\"requestsPerMinute\": 60}");
      if (l != null) {
        String zero = "0 = unlimited";
        limits = new Limits(
            l.nonNegative("requestsPerMinute", Limits.MAX_PER_MINUTE, 0, zero),
            l.nonNegative("tokensPerMinute", Limits.MAX_PER_MINUTE, 0, zero),
            (int) l.nonNegative("concurrent", Integer.MAX_VALUE, 0, zero));
      }
      weight = (int) b.between("weight", 1, ApiKey.MAX_WEIGHT, 0, "the key's fair-share weight in the queue, "
          + "or leave \"weight\" out for the tenant's (routing.flow.tenants, else routing.flow.defaultWeight)");
      String band = b.oneOf("maxPriority", BANDS, "the highest priority band the key's requests may ask for, or "
          + "leave \"maxPriority\" out for the tenant's (routing.flow.tenants, else interactive)");
      maxBand = band == null ? null : Band.parse(band);
      expires = b.instant("expiresAt");
      note = b.text("note", false, MAX_NOTE_CHARS, "free text shown by GET /admin/keys");
    } catch (AdminBody.Refused r) {
      r.answer(req.response());
      return;
    }
    Limits lim = limits;
    int w = weight;
    Band band = maxBand;
    Instant exp = expires;
    vertx.executeBlocking(() -> keys.createKey(tenant, models, lim, w, band, exp, note)).onComplete(ar -> {
      if (ar.failed()) {
        boolean bad = ar.cause() instanceof IllegalArgumentException;
        Responses.error(req.response(), ApiFlavor.OPENAI, bad ? ErrorKind.INVALID_REQUEST : ErrorKind.INTERNAL,
            bad ? ar.cause().getMessage() : "could not save the keys file: " + ar.cause().getMessage(), null);
        return;
      }
      ObjectNode out = KeyFile.publicView(ar.result().key(), clock.millis());
      out.put("key", ar.result().secret());
      out.put("warning", "this is the only time the key is shown; Sluice keeps only its hash");
      Responses.json(req.response(), 201, out.toString());
    });
  }
}
