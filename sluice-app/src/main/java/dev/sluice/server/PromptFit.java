package dev.sluice.server;

import dev.sluice.api.ErrorKind;
import dev.sluice.api.ParsedRequest;
import dev.sluice.auth.Principal;
import dev.sluice.config.ModelSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.limit.ContextGuard;
import dev.sluice.limit.PromptText;
import dev.sluice.metrics.SluiceMetrics;
import io.vertx.core.http.HttpServerResponse;

/**
 * A routed request against its model's context window and max_tokens ({@link ContextGuard}): it fits as it is, fits
 * with its answer length capped, goes to the overflow model, or is rejected. The response says which rewrite was made
 * ({@value #OVERFLOW_HEADER}, {@value #CAPPED_HEADER}).
 */
final class PromptFit {
  static final String OVERFLOW_HEADER = "X-Sluice-Overflow-Model";
  static final String CAPPED_HEADER = "X-Sluice-Max-Tokens-Capped";

  private PromptFit() {}

  /** What the check decided. */
  sealed interface Result {}

  /** Go on with {@code request} (maybe rewritten) and its prompt's estimated tokens. */
  record Fits(ParsedRequest request, long promptTokens) implements Result {}

  /** Answer the client with this error. */
  record Rejected(ErrorKind kind, String message, String param) implements Result {}

  static Result check(ParsedRequest parsed, ModelSpec spec, PromptText prompt, Principal who, SluiceConfig config,
      SluiceMetrics metrics, HttpServerResponse resp) {
    String overflow = spec.overflowModel();
    // an overflow model outside the caller's scope is no way around it: such a prompt is rejected as too long
    boolean overflowForbidden = overflow != null && !who.mayUse(overflow);
    if (overflowForbidden) overflow = null;
    int overflowWindow = overflow == null ? 0
        : config.model(overflow).map(r -> r.model().contextWindowTokens()).orElse(0);
    ContextGuard.Verdict v = ContextGuard.check(spec.id(), prompt, parsed.requestedMaxTokens(),
        spec.contextWindowTokens(), spec.maxTokens(), overflow, overflowWindow, config.limits().overMaxTokens());
    if (v instanceof ContextGuard.Reject r) {
      boolean tooLong = !"max_tokens_too_large".equals(r.code());
      ErrorKind kind = tooLong ? ErrorKind.CONTEXT_LENGTH_EXCEEDED : ErrorKind.MAX_TOKENS_TOO_LARGE;
      metrics.contextGuard("rejected");
      return new Rejected(kind, r.message() + (tooLong && overflowForbidden
          ? " (the overflow model for longer prompts is not allowed for this gateway token)" : ""), r.param());
    }
    if (v instanceof ContextGuard.Overflow o) {
      metrics.contextGuard("overflow");
      resp.putHeader(OVERFLOW_HEADER, o.toModel());
      return new Fits(parsed.withModel(o.toModel()), o.promptTokens());
    }
    ContextGuard.Fits f = (ContextGuard.Fits) v;
    if (!f.capped()) return new Fits(parsed, f.promptTokens());
    metrics.contextGuard("capped");
    resp.putHeader(CAPPED_HEADER, Integer.toString(f.maxTokens()));
    return new Fits(parsed.withMaxTokens(f.maxTokens()), f.promptTokens());
  }
}
