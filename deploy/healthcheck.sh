#!/usr/bin/env bash
# Sluice repair script for a local Ollama node (BRIEF §3 self-healing, done properly).
#
# Run by the gateway as a node's repair command when the node turns DEGRADED, e.g. in the config:
#   "repair": {"command": "/opt/sluice/deploy/healthcheck.sh"}
# The gateway sets SLUICE_NODE_ID, SLUICE_NODE_URL and SLUICE_NODE_REASON; it kills the script after 120 s.
#
# What it does:
#   1. if no `ollama serve` process runs, restart the service (systemctl restart "$OLLAMA_SERVICE");
#   2. wait until GET $OLLAMA_URL/api/tags answers (at most $WAIT_SECONDS, polling every second),
#      instead of the brief's blind "wait 10 s";
#   3. warm the model with one POST /api/chat (non-streaming), so the first real request does not pay the load.
#
# Environment:
#   SLUICE_NODE_URL / OLLAMA_URL  node root, e.g. http://127.0.0.1:11434 (SLUICE_NODE_URL wins; default the latter)
#   MODEL                         model to warm, e.g. qwen3:32b (empty: skip the warm-up)
#   OLLAMA_SERVICE                systemd unit to restart (default: ollama)
#   WAIT_SECONDS                  how long to wait for /api/tags after a restart (default: 60)
#   WARMUP_SECONDS                time limit of the warm-up request (default: 50)
#   SLUICE_NODE_ID, SLUICE_NODE_REASON  only used in the log lines
#
# Exit codes:
#   0  node answers /api/tags (and the warm-up, if MODEL is set, succeeded)
#   1  usage or environment error (curl missing, bad settings)
#   2  the service restart failed (systemctl returned an error)
#   3  /api/tags did not answer within WAIT_SECONDS
#   4  the warm-up chat failed or timed out
#
# Output goes to stdout/stderr, which the gateway logs (truncated).
set -euo pipefail

readonly NODE_URL="${SLUICE_NODE_URL:-${OLLAMA_URL:-http://127.0.0.1:11434}}"
readonly NODE_ID="${SLUICE_NODE_ID:-local}"
readonly MODEL="${MODEL:-}"
readonly SERVICE="${OLLAMA_SERVICE:-ollama}"
readonly WAIT_SECONDS="${WAIT_SECONDS:-60}"
readonly WARMUP_SECONDS="${WARMUP_SECONDS:-50}"

log() {
  printf '%s healthcheck %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$NODE_ID" "$*"
}

die() {
  local code=$1
  shift
  log "ERROR: $*" >&2
  exit "$code"
}

is_uint() {
  [[ $1 =~ ^[0-9]+$ ]]
}

command -v curl >/dev/null 2>&1 || die 1 "curl is not installed"
is_uint "$WAIT_SECONDS" || die 1 "WAIT_SECONDS must be a whole number of seconds, got '$WAIT_SECONDS'"
is_uint "$WARMUP_SECONDS" || die 1 "WARMUP_SECONDS must be a whole number of seconds, got '$WARMUP_SECONDS'"
[[ $NODE_URL =~ ^https?:// ]] || die 1 "node URL must start with http:// or https://, got '$NODE_URL'"

base="${NODE_URL%/}"
log "repair started (reason: ${SLUICE_NODE_REASON:-none given}; url: $base)"

tags_ok() {
  curl --silent --show-error --fail --max-time 3 --output /dev/null "$base/api/tags"
}

# 1. Restart the service when the server process is gone.
if pgrep -f 'ollama serve' >/dev/null 2>&1; then
  log "ollama serve is running; not restarting"
else
  log "no 'ollama serve' process: restarting service '$SERVICE'"
  if ! systemctl restart "$SERVICE"; then
    die 2 "systemctl restart $SERVICE failed"
  fi
fi

# 2. Wait (bounded) until the API answers.
deadline=$((SECONDS + WAIT_SECONDS))
until tags_ok 2>/dev/null; do
  if ((SECONDS >= deadline)); then
    die 3 "GET $base/api/tags did not answer within ${WAIT_SECONDS} s"
  fi
  sleep 1
done
log "GET /api/tags answers"

# 3. Warm the model with one non-streaming chat.
if [[ -z $MODEL ]]; then
  log "MODEL not set: no warm-up; done"
  exit 0
fi
# The model name goes into JSON: refuse characters that would need escaping rather than build broken JSON.
[[ $MODEL =~ ^[A-Za-z0-9._:/@+-]+$ ]] || die 1 "MODEL '$MODEL' has characters a model name does not have"
body=$(printf '{"model":"%s","messages":[{"role":"user","content":"test"}],"stream":false}' "$MODEL")
started=$SECONDS
if ! curl --silent --show-error --fail --max-time "$WARMUP_SECONDS" --output /dev/null \
    --header 'Content-Type: application/json' --data "$body" "$base/api/chat"; then
  die 4 "warm-up POST /api/chat for $MODEL failed"
fi
log "warmed $MODEL in $((SECONDS - started)) s; done"
