#!/usr/bin/env bash
# Memory and latency of the gateway holding many slow streams of large requests: STREAMS concurrent SSE streams
# (default 1,000) of a BODY (default the shared harness's 190 KB agent request), each 20 chunks CHUNK_MS apart
# (default 500 ms: a 10 s answer) from the harness's C fake upstream, started at STREAMS/10 per second by olgen and
# held for HOLD_S seconds (default 20) after the ramp; meanwhile PROBES small requests (one every 100 ms) through the
# gateway and straight to the upstream, whose time difference is the added latency. Reports the gateway's peak RSS
# (VmHWM), its RSS at the end, and the probes' p50/p99 through the gateway and direct.
#
#   sluice-bench/scripts/slow-streams.sh                                  # sluice-app/target/sluice.jar, default heap
#   SLUICE_JAR=/tmp/perf-base.jar GW_JAVA_OPTS="-Xmx256m" sluice-bench/scripts/slow-streams.sh
#
# Ports UP_PORT (19420) and GW_PORT (19421) on 127.0.0.1; everything it starts is stopped by PID on exit.
set -u -o pipefail
SELF_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(cd "$SELF_DIR/../.." && pwd)
HARNESS_DIR=${HARNESS_DIR:-/work/shared/bench}
SLUICE_JAR=${SLUICE_JAR:-$REPO_DIR/sluice-app/target/sluice.jar}
JAVA=${JAVA:-java}
GW_JAVA_OPTS=${GW_JAVA_OPTS:-}
BODY=${BODY:-$HARNESS_DIR/bodies-agent/chat_stream.json}
STREAMS=${STREAMS:-1000}
CHUNK_MS=${CHUNK_MS:-500}
HOLD_S=${HOLD_S:-20}
PROBES=${PROBES:-100}
UP_PORT=${UP_PORT:-19420}
GW_PORT=${GW_PORT:-19421}

TMP=$(mktemp -d /tmp/sluice-slow.XXXXXX)
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; echo "kept $TMP"' EXIT
gcc -O2 -o "$TMP/upstream" "$HARNESS_DIR/src/upstream.c" -lpthread -lm && \
  gcc -O2 -o "$TMP/olgen" "$HARNESS_DIR/src/olgen.c" -lpthread -lm || exit 1
ulimit -n "$(ulimit -Hn)"
"$TMP/upstream" -l 127.0.0.1 -p "$UP_PORT" > "$TMP/up.log" 2>&1 & PIDS+=($!)
cat > "$TMP/gw.json" <<JSON
{"server":{"host":"127.0.0.1","port":$GW_PORT},"auth":{"mode":"none"},
 "upstream":{"maxConnectionsPerNode":$(( STREAMS * 2 )),"maxWaitQueuePerNode":$(( STREAMS * 2 ))},
 "providers":{"bench":{"api":"openai","apiKey":"sk-bench-local","models":[{"id":"bench-model"}],
   "nodes":[{"id":"fake-upstream","baseUrl":"http://127.0.0.1:$UP_PORT/v1"}]}}}
JSON
# shellcheck disable=SC2086
"$JAVA" $GW_JAVA_OPTS -jar "$SLUICE_JAR" serve --config "$TMP/gw.json" --host 127.0.0.1 --port "$GW_PORT" \
  > "$TMP/gw.log" 2>&1 & GW=$!; PIDS+=($GW)
SMALL='{"model":"bench-model","messages":[{"role":"user","content":"Hello"}],"max_tokens":20}'
for i in $(seq 1 120); do
  curl -fs -m 2 -o /dev/null -H 'Content-Type: application/json' -d "$SMALL" "http://127.0.0.1:$GW_PORT/v1/chat/completions" && break
  sleep 0.5
done
# warm-up: a few hundred large requests, so the JIT has compiled the path before we measure memory
for i in $(seq 1 3); do
  "$TMP/olgen" -u "http://127.0.0.1:$GW_PORT/v1/chat/completions" -b "${BODY/_stream/}" -r 100 -d 3 -c 20 > /dev/null 2>&1
done
rss_before=$(awk '/VmRSS/{print $2}' /proc/$GW/status)
ramp=$(( STREAMS / (STREAMS / 10) ))
rate=$(( STREAMS / 10 ))
"$TMP/olgen" -u "http://127.0.0.1:$GW_PORT/v1/chat/completions" -b "$BODY" -r "$rate" -d $(( 10 + HOLD_S )) \
  -c "$STREAMS" -S -T 120 -H "x-bench-delay-ms: $CHUNK_MS" > "$TMP/streams.out" 2>&1 & OL=$!; PIDS+=($OL)
sleep 12 # the ramp: STREAMS/10 per second for 10 s, then every stream that ends is replaced
probe() { # port -> seconds per request, one line each
  local i
  for i in $(seq 1 "$PROBES"); do
    curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' -d "$SMALL" "http://127.0.0.1:$1/v1/chat/completions"
    sleep 0.1
  done
}
probe "$GW_PORT" > "$TMP/probe-gw.txt"
probe "$UP_PORT" > "$TMP/probe-direct.txt"
conns=$(ss -Htn state established "( sport = :$GW_PORT )" | wc -l)
[ -n "${HISTO:-}" ] && jcmd "$GW" GC.class_histogram 2>/dev/null | head -14 > "$TMP/histo.txt" # a full GC: after the probes
wait "$OL"
rss_peak=$(awk '/VmHWM/{print $2}' /proc/$GW/status)
rss_end=$(awk '/VmRSS/{print $2}' /proc/$GW/status)
python3 - "$TMP" "$rss_before" "$rss_peak" "$rss_end" "$conns" "$STREAMS" "$CHUNK_MS" "$BODY" "$GW_JAVA_OPTS" "$SLUICE_JAR" <<'PY'
import sys, re, json, os, statistics
tmp, before, peak, end, conns, streams, chunk, body, opts, jar = sys.argv[1:]
def pct(f):
    v = sorted(float(x) * 1000 for x in open(os.path.join(tmp, f)) if x.strip())
    return v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.99))]
g50, g99 = pct("probe-gw.txt"); d50, d99 = pct("probe-direct.txt")
out = open(os.path.join(tmp, "streams.out")).read()
m = re.search(r"OLJSON (.*)", out); j = json.loads(m.group(1)) if m else {}
print(f"jar {jar}, JVM options '{opts or '(default heap)'}', body {os.path.getsize(body)} bytes, "
      f"{streams} streams of 20 chunks {chunk} ms apart")
print(f"streams: ok {j.get('ok')} errors {j.get('errors')} (" + ", ".join(f"{k} {j[k]}" for k in j if k.startswith("e_") and j[k])
      + f"); gateway connections open while probing: {conns}")
if os.path.exists(os.path.join(tmp, "histo.txt")):
    print(open(os.path.join(tmp, "histo.txt")).read())
print(f"gateway RSS: {int(before)//1024} MB after warm-up, peak {int(peak)//1024} MB, {int(end)//1024} MB at the end")
print(f"probe (small request) p50/p99 ms: through the gateway {g50:.2f}/{g99:.2f}, direct {d50:.2f}/{d99:.2f}, "
      f"added p50 {g50-d50:+.2f} p99 {g99-d99:+.2f}")
PY
