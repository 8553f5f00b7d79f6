package dev.sluice.api;

/**
 * Every kind of error Sluice answers with, its HTTP status and its OpenAI {@code type}/{@code code}. One place, so the
 * two API formats and the metrics agree.
 */
public enum ErrorKind {
  /** The body is not valid JSON, or a field has a wrong type or value. */
  INVALID_REQUEST(400, "invalid_request_error", null),
  /** The request names no model. */
  MISSING_MODEL(400, "invalid_request_error", "missing_model"),
  /** The model is not in the config. */
  MODEL_NOT_FOUND(404, "invalid_request_error", "model_not_found"),
  /** The path is not one Sluice serves. */
  NOT_FOUND(404, "invalid_request_error", "not_found"),
  /** The path exists but not for this method. */
  METHOD_NOT_ALLOWED(405, "invalid_request_error", "method_not_allowed"),
  /** An admin change of shared state (keys, nodes, routing) on a replica whose config lives in etcd: use the CLI. */
  SHARED_CONFIG(409, "invalid_request_error", "config_is_shared"),
  /** An admin action needs the shared store (Redis) and it does not answer. */
  SHARED_STORE_UNAVAILABLE(503, "server_error", "shared_store_unavailable"),
  /** Prompt + max_tokens do not fit the model's contextWindow (and no overflow model takes it). */
  CONTEXT_LENGTH_EXCEEDED(400, "invalid_request_error", "context_length_exceeded"),
  /** max_tokens is above the model's maxTokens and limits.overMaxTokens is "reject". */
  MAX_TOKENS_TOO_LARGE(400, "invalid_request_error", "max_tokens_too_large"),
  /** A tenant or model rate limit (requests/min, tokens/min, concurrent) refused the request. */
  RATE_LIMITED(429, "rate_limit_error", "rate_limit_exceeded"),
  /** No gateway token, or one that is unknown, revoked, expired or (JWT) does not verify. */
  UNAUTHORIZED(401, "invalid_request_error", "invalid_api_key"),
  /** The gateway token is valid but not for this model. */
  MODEL_NOT_ALLOWED(403, "permission_error", "model_not_allowed"),
  /** A data-plane token on the admin plane, or the admin plane is closed (no admin token configured). */
  ADMIN_FORBIDDEN(403, "permission_error", "admin_token_required"),
  /** A browser request from an origin not in server.cors.allowedOrigins. */
  ORIGIN_NOT_ALLOWED(403, "invalid_request_error", "origin_not_allowed"),
  /** The body is larger than server.maxBodyBytes. */
  BODY_TOO_LARGE(413, "invalid_request_error", "request_too_large"),
  /** The body did not arrive within server.bodyReadTimeout of the request head. */
  BODY_TIMEOUT(408, "invalid_request_error", "request_timeout"),
  /** The tenant's unfinished uploads hold server.maxUploadBytesInProgressPerTenant already. */
  UPLOADS_TENANT_FULL(429, "rate_limit_error", "upload_limit_exceeded"),
  /** All unfinished uploads together hold server.maxUploadBytesInProgress already. */
  UPLOADS_FULL(503, "server_error", "upload_limit_exceeded"),
  /** No node could answer before the first byte (all attempts failed). */
  UPSTREAM_UNAVAILABLE(502, "upstream_error", "upstream_unavailable"),
  /** Every node was busy (429/503 or full pools). */
  UPSTREAM_BUSY(503, "upstream_error", "upstream_busy"),
  /** Admission control: no node can meet the model's time-to-first-token budget now. */
  OVERLOADED(429, "rate_limit_error", "overloaded"),
  /** Every node of the model is out of rotation (degraded, down, draining, ejected or serving another model). */
  NO_HEALTHY_NODE(503, "upstream_error", "no_healthy_node"),
  /** The first token did not come in time on any attempt, or the total timeout fired. */
  UPSTREAM_TIMEOUT(504, "upstream_error", "upstream_timeout"),
  /** The stream broke after it had started (sent in-band). */
  STREAM_INTERRUPTED(502, "upstream_error", "stream_interrupted"),
  /** The gateway is shutting down or a bug: never a stack trace, always this. */
  INTERNAL(500, "server_error", "internal_error");

  private final int status;
  private final String openAiType;
  private final String openAiCode;

  ErrorKind(int status, String openAiType, String openAiCode) {
    this.status = status;
    this.openAiType = openAiType;
    this.openAiCode = openAiCode;
  }

  public int status() { return status; }

  public String openAiType() { return openAiType; }

  public String openAiCode() { return openAiCode; }

  /**
   * Anthropic's error {@code type} for this kind, by its status as Anthropic's API maps them: 401
   * {@code authentication_error}, 403 {@code permission_error}, 404 {@code not_found_error}, 413
   * {@code request_too_large}, 429 {@code rate_limit_error}, 503 {@code overloaded_error}, 504 {@code timeout_error},
   * other 4xx {@code invalid_request_error}, other 5xx {@code api_error}.
   */
  public String anthropicType() {
    return anthropicType(status);
  }

  /** Anthropic's error {@code type} for an HTTP status, by the table of {@link #anthropicType()}. */
  public static String anthropicType(int status) {
    return switch (status) {
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      case 413 -> "request_too_large";
      case 429 -> "rate_limit_error";
      case 503 -> "overloaded_error";
      case 408, 504 -> "timeout_error";
      default -> status < 500 ? "invalid_request_error" : "api_error";
    };
  }
}
