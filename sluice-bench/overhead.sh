#!/usr/bin/env bash
# Sluice gateway overhead: the same request straight to a simulated node vs through Sluice.
#
#   sluice-bench/overhead.sh            # full run: 3 interleaved rounds (~13 min)
#   QUICK=1 sluice-bench/overhead.sh    # 1 round, short runs (~3 min): smoke test
#   TESTS="fixed sse" ROUNDS=5 RESULTS_DIR=/tmp/ov sluice-bench/overhead.sh
#   SIZE=190k FIXED_RATES=200 sluice-bench/overhead.sh   # the 190 KB agent request (20k: its first 20 KB)
#
# Starts one simulated node (`sluice sim --time-scale 0`, instant answers) and one gateway
# (`sluice serve`) routing to it, both on 127.0.0.1, warms both JVMs up, then runs interleaved
# rounds of: open-loop fixed-rate non-streaming (olgen), open-loop streaming (SSE, olgen -S) and
# closed-loop max throughput (wrk), each against the node directly ("direct") and through the
# gateway ("sluice"). Prints a markdown table (medians over rounds of per-round deltas) and keeps
# the raw data. Everything it starts is stopped by PID on exit and on Ctrl-C. See README.md.
#
# Load tools: olgen is compiled from the shared harness (/work/shared/bench/src/olgen.c, or
# $HARNESS_DIR) into a temp dir; wrk (+ the harness's lua/post.lua) for the max test.
set -u -o pipefail

SELF_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(cd "$SELF_DIR/.." && pwd)

# ---------------------------------------------------------------- knobs
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  : "${ROUNDS:=1}" "${FIXED_DUR:=5}" "${SSE_DUR:=5}" "${MAX_DUR:=5}" "${WARMUP_S:=12}" "${SSE_RATES:=100}"
fi
ROUNDS=${ROUNDS:-3}
TESTS=${TESTS:-"fixed sse max"}
FIXED_RATES=${FIXED_RATES:-"500 100"}   # req/s, open loop, non-streaming
FIXED_DUR=${FIXED_DUR:-20}              # s recorded
FIXED_WARM=${FIXED_WARM:-2}             # s unrecorded at the start of every run
FIXED_CONNS=${FIXED_CONNS:-50}
SSE_RATES=${SSE_RATES:-"500 100"}       # streams/s, open loop
SSE_DUR=${SSE_DUR:-20}
SSE_WARM=${SSE_WARM:-2}
SSE_CONNS=${SSE_CONNS:-50}
MAX_TOKENS=${MAX_TOKENS:-20}            # simulator output length: 20 tokens = 22 SSE events + [DONE]
MAX_DUR=${MAX_DUR:-15}
MAX_CONNS=${MAX_CONNS:-64}
MAX_THREADS=${MAX_THREADS:-1}
WARMUP_S=${WARMUP_S:-20}                # closed-loop warm-up through the gateway (JIT of both JVMs) before round 1
EVENT_LOOPS=${EVENT_LOOPS:-}            # default: 1 when pinned, else number of CPUs
GW_JAVA_OPTS=${GW_JAVA_OPTS:-"-XX:+UseSerialGC -Xms256m -Xmx256m"}
SIM_JAVA_OPTS=${SIM_JAVA_OPTS:-"-XX:+UseSerialGC -Xms256m -Xmx256m"}
SIM_PORT=${SIM_PORT:-18300}
GW_PORT=${GW_PORT:-18301}
AUTH_MODE=${AUTH_MODE:-tokens}          # tokens: every request carries a real gateway token; none: no auth
GW_EXTRA=${GW_EXTRA:-}                  # more top-level gateway config, e.g. '"limits":{…},"shared":{"redis":"redis://127.0.0.1:6379"}'
MODEL=${MODEL:-qwen3:32b}
API=${API:-chat}                        # chat: /v1/chat/completions; messages: Anthropic /v1/messages, passed through
SIZE=${SIZE:-small}                     # small: the 0.3 KB chat below; 20k / 190k: the harness's agent request
                                        # (system prompt, tools, turns; 20k is its first turns), as BODY_FILE, on
                                        # an H100 sim (GPU A10 becomes H100) with maxModelLenTokens 65536
BODY_FILE=${BODY_FILE:-}                # a chat body to send instead of the short one (e.g. the harness's
                                        # bodies-agent/chat.json, 190 KB); model and max_tokens replaced; API=messages
                                        # sends it in Messages' shape (scripts/to_messages.py)
GPU=${GPU:-A10}
SIM_EXTRA=${SIM_EXTRA:-}                # more sim options, e.g. "--set maxModelLenTokens=65536" for agent-sized bodies
PIN=${PIN:-1}                           # 1: sim+gateway on CPU_SUT, generator on CPU_GEN
CPU_SUT=${CPU_SUT:-0}
CPU_GEN=${CPU_GEN:-1}
MAX_SIM_CPU=${MAX_SIM_CPU:-$CPU_GEN}    # during "max" the sim moves here so the gateway has a whole CPU
SPIN=${SPIN:-1}                         # 1: SCHED_IDLE busy loop per CPU during latency tests
HARNESS_DIR=${HARNESS_DIR:-/work/shared/bench}
SLUICE_JAR=${SLUICE_JAR:-$REPO_DIR/sluice-app/target/sluice.jar}
BUILD=${BUILD:-auto}                    # auto: build the jar when missing or older than sources; 0: never; 1: always
RESULTS_DIR=${RESULTS_DIR:-/tmp/sluice-overhead}

case "$SIZE" in
  small) ;;
  20k|190k) [ -n "$BODY_FILE" ] && { echo "set SIZE or BODY_FILE, not both" >&2; exit 1; }
    BODY_FILE=$HARNESS_DIR/bodies-agent/chat.json
    case " $SIM_EXTRA " in *maxModelLenTokens*) ;; *) SIM_EXTRA="$SIM_EXTRA --set maxModelLenTokens=65536" ;; esac
    [ "$GPU" = A10 ] && GPU=H100 ;; # a 46k-token prompt: an A10's KV cache (5,700 tokens) cannot hold it
  *) echo "SIZE must be small, 20k or 190k" >&2; exit 1 ;;
esac

STAMP=$(date +%Y%m%d-%H%M%S)
OUT="$RESULTS_DIR/$STAMP"
RUN="$OUT/run"
mkdir -p "$RUN"
RAW="$OUT/raw.jsonl"; : > "$RAW"
LOG="$OUT/bench.log"
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$LOG" >&2; }
die() { log "ERROR: $*"; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "missing '$1' ($2)"; }
need java "a JDK 17+"; need gcc "apt-get install gcc"; need curl "apt-get install curl"
need taskset "util-linux"; need ss "iproute2"; need python3 "python3 (summary)"
case " $TESTS " in *" max "*) need wrk "apt-get install wrk" ;; esac
[ -f "$HARNESS_DIR/src/olgen.c" ] || die "no $HARNESS_DIR/src/olgen.c (set HARNESS_DIR)"

if [ "$PIN" = 1 ]; then
  PIN_SUT="taskset -c $CPU_SUT"; PIN_GEN="taskset -c $CPU_GEN"; : "${EVENT_LOOPS:=1}"
else
  PIN_SUT=""; PIN_GEN=""; : "${EVENT_LOOPS:=$(nproc)}"
fi

# ---------------------------------------------------------------- process tracking (by PID only)
declare -a PIDS=() SPIN_PIDS=()
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
stop_pid() {
  local pid=$1 i
  alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && { log "pid $pid ignored SIGTERM, SIGKILL"; kill -KILL "$pid" 2>/dev/null; sleep 0.2; }
  wait "$pid" 2>/dev/null; return 0
}
spin_on() {
  [ "$SPIN" = 1 ] && [ ${#SPIN_PIDS[@]} -eq 0 ] || return 0
  local c
  for c in $(seq 0 $(( $(nproc) - 1 ))); do
    timeout 7200 chrt -i 0 taskset -c "$c" bash -c 'while :; do :; done' & SPIN_PIDS+=($!)
  done
}
spin_off() { local p; for p in "${SPIN_PIDS[@]}"; do stop_pid "$p"; done; SPIN_PIDS=(); }
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  spin_off
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do stop_pid "${PIDS[$i]}"; done
  [ -n "${TOOLS:-}" ] && rm -rf "$TOOLS"
  log "stopped everything this run started"
  exit $rc
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

HZ=$(getconf CLK_TCK)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0; }
port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# ---------------------------------------------------------------- build
if [ "$BUILD" = 1 ] || { [ "$BUILD" = auto ] && { [ ! -f "$SLUICE_JAR" ] || \
     [ -n "$(find "$REPO_DIR/sluice-app/src/main" "$REPO_DIR/sluice-app/pom.xml" -newer "$SLUICE_JAR" -print -quit 2>/dev/null)" ]; }; }; then
  log "building $SLUICE_JAR"
  (cd "$REPO_DIR" && { mvn -B -q -o package -pl sluice-app -am -DskipTests || mvn -B -q package -pl sluice-app -am -DskipTests; }) >> "$LOG" 2>&1 \
    || die "jar build failed (see $LOG)"
fi
[ -f "$SLUICE_JAR" ] || die "no $SLUICE_JAR"
TOOLS=$(mktemp -d /tmp/sluice-bench-tools.XXXXXX)
gcc -O2 -Wall -o "$TOOLS/olgen" "$HARNESS_DIR/src/olgen.c" -lpthread -lm 2>>"$LOG" || die "olgen build failed"
OLGEN=$TOOLS/olgen
WRK_LUA=$HARNESS_DIR/lua/post.lua
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# request bodies: same request both ways; the simulator sizes its answer from max_tokens
BODY=$OUT/chat.json; BODY_STREAM=$OUT/chat_stream.json
MSGS='"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Explain in two sentences what an AI gateway does."}]'
API_PATH=/v1/chat/completions; DIALECTS=''; WHOLE_MARK='"chat.completion"'; STREAM_END='data: [DONE]'
if [ "$API" = messages ]; then # the same request in Anthropic's shape: the system prompt is a top-level field
  MSGS='"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Explain in two sentences what an AI gateway does."}]'
  API_PATH=/v1/messages; DIALECTS=',"dialects":["ollama","openai","anthropic"]'
  WHOLE_MARK='"type":"message"'; STREAM_END='event: message_stop'
  case " $TESTS " in *" sse "*) die "API=messages measures plain answers only (TESTS=\"fixed max\")" ;; esac
fi
printf '{"model":"%s",%s,"max_tokens":%d,"temperature":0.2}' "$MODEL" "$MSGS" "$MAX_TOKENS" > "$BODY"
printf '{"model":"%s",%s,"max_tokens":%d,"temperature":0.2,"stream":true}' "$MODEL" "$MSGS" "$MAX_TOKENS" > "$BODY_STREAM"
if [ -n "$BODY_FILE" ]; then
  SRC=$BODY_FILE
  if [ "$SIZE" = 20k ]; then python3 "$SELF_DIR/scripts/agent_body.py" 20000 "$BODY_FILE" "$OUT/agent20k.json"; SRC=$OUT/agent20k.json; fi
  if [ "$API" = messages ]; then python3 "$SELF_DIR/scripts/to_messages.py" "$SRC" > "$OUT/source.json"; SRC=$OUT/source.json; fi
  python3 - "$SRC" "$MODEL" "$MAX_TOKENS" "$BODY" "$BODY_STREAM" <<'PY' || die "cannot read BODY_FILE $BODY_FILE"
import json, sys
src, model, max_tokens, whole, stream = sys.argv[1:]
body = json.load(open(src))
body.pop("stream", None)
body.update(model=model, max_tokens=int(max_tokens))
json.dump(body, open(whole, "w"), separators=(",", ":"))
body["stream"] = True
json.dump(body, open(stream, "w"), separators=(",", ":"))
PY
  log "body: $BODY_FILE as $API, $(wc -c < "$BODY") bytes"
fi
AUTH="Authorization: Bearer sk-bench-local"

# ---------------------------------------------------------------- start sim + gateway
port_busy "$SIM_PORT" && die "port $SIM_PORT in use (set SIM_PORT)"
port_busy "$GW_PORT" && die "port $GW_PORT in use (set GW_PORT)"
case "$AUTH_MODE" in
  tokens) TOKEN=$(java -jar "$SLUICE_JAR" keys create --keys-file "$RUN/keys.json" --tenant bench 2>>"$LOG") \
            || die "could not create a gateway token"
          AUTH="Authorization: Bearer $TOKEN" ;;
  none) ;;
  *) die "AUTH_MODE must be tokens or none" ;;
esac
cat > "$RUN/gateway.json" <<EOF
{"server":{"host":"127.0.0.1","port":$GW_PORT},
 "auth":{"mode":"$AUTH_MODE","keysFile":"keys.json"},${GW_EXTRA:+
 $GW_EXTRA,}
 "providers":{"$MODEL":{"api":"ollama","apiKey":"ollama","models":[{"id":"$MODEL"}],
   "nodes":[{"id":"sim-1","baseUrl":"http://127.0.0.1:$SIM_PORT","gpuType":"$GPU"$DIALECTS}]}}}
EOF
# shellcheck disable=SC2086
$PIN_SUT java $SIM_JAVA_OPTS -jar "$SLUICE_JAR" sim --port "$SIM_PORT" --host 127.0.0.1 --gpu "$GPU" \
  --model "$MODEL" --time-scale 0 --id sim-1 $SIM_EXTRA > "$RUN/sim.log" 2>&1 &
SIM_PID=$!; PIDS+=("$SIM_PID")
# shellcheck disable=SC2086
$PIN_SUT java $GW_JAVA_OPTS -jar "$SLUICE_JAR" serve --config "$RUN/gateway.json" --port "$GW_PORT" \
  --host 127.0.0.1 --event-loops "$EVENT_LOOPS" > "$RUN/gateway.log" 2>&1 &
GW_PID=$!; PIDS+=("$GW_PID")

declare -A PORT_OF=([direct]=$SIM_PORT [sluice]=$GW_PORT)
declare -A PID_OF=([direct]=$SIM_PID [sluice]=$GW_PID)
smoke() { # port -> 0 when a JSON and a streamed request succeed
  local b n
  b=$(curl -s -m 5 -X POST -H "$AUTH" -H 'Content-Type: application/json' --data-binary @"$BODY" "http://127.0.0.1:$1$API_PATH") || return 1
  [[ "$b" == *"$WHOLE_MARK"* ]] || return 1
  b=$(curl -s -N -m 5 -X POST -H "$AUTH" -H 'Content-Type: application/json' --data-binary @"$BODY_STREAM" "http://127.0.0.1:$1$API_PATH") || return 1
  n=$(grep -c '^data: ' <<< "$b"); [[ "$b" == *"$STREAM_END"* ]] && [ "$n" -ge 3 ] || return 1
  echo "$n"
}
for t in direct sluice; do
  ok=""
  for i in $(seq 1 120); do ok=$(smoke "${PORT_OF[$t]}") && break; sleep 0.5; done
  [ -n "$ok" ] || die "$t on port ${PORT_OF[$t]} does not answer (see $RUN/*.log)"
  log "$t ready on 127.0.0.1:${PORT_OF[$t]} (stream: $ok data lines)"
done

{
  echo "date: $(date -Is)"
  echo "host: $(uname -srm); cpus: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "java: $(java -version 2>&1 | head -1); jar: $SLUICE_JAR ($(stat -c %y "$SLUICE_JAR" | cut -d. -f1)); git: $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO_DIR" diff --quiet HEAD -- sluice 2>/dev/null || echo '+dirty')"
  echo "pinning: PIN=$PIN: sim + gateway on CPU $CPU_SUT, generator on CPU $CPU_GEN; sim on CPU $MAX_SIM_CPU during max"
  echo "spinners: SPIN=$SPIN (latency tests only)"
  echo "gateway: --event-loops $EVENT_LOOPS, JVM $GW_JAVA_OPTS${GW_EXTRA:+, config extra: $GW_EXTRA}; sim: --time-scale 0 --gpu $GPU, JVM $SIM_JAVA_OPTS"
  echo "tests: $TESTS; rounds: $ROUNDS; fixed: $FIXED_RATES req/s x ${FIXED_DUR}s (+${FIXED_WARM}s unrecorded), $FIXED_CONNS conns"
  echo "sse: $SSE_RATES streams/s x ${SSE_DUR}s, max_tokens $MAX_TOKENS; max: wrk -t$MAX_THREADS -c$MAX_CONNS -d${MAX_DUR}s; warm-up ${WARMUP_S}s"
} > "$OUT/env.txt"
cat "$OUT/env.txt" >> "$LOG"

# ---------------------------------------------------------------- runs
record() { # json round test target ticks_gw ticks_sim
  local j=${1:-'{"failed":1}'}
  [ -n "$j" ] || j='{"failed":1}'
  echo "$j" | sed "s/^{/{\"round\":$2,\"test\":\"$3\",\"target\":\"$4\",\"gw_ticks\":$5,\"sim_ticks\":$6,\"clk_tck\":$HZ,/" >> "$RAW"
}
run_olgen() { # round test target rate dur warm conns body [-S]
  local r=$1 t=$2 tg=$3 rate=$4 dur=$5 warm=$6 conns=$7 body=$8 g0 s0 out; shift 8
  g0=$(cpu_ticks "$GW_PID"); s0=$(cpu_ticks "$SIM_PID")
  out=$(timeout $(( dur + warm + 60 )) $PIN_GEN "$OLGEN" -u "http://127.0.0.1:${PORT_OF[$tg]}$API_PATH" \
        -b "$body" -r "$rate" -d "$dur" -w "$warm" -c "$conns" -T 30 -L "$t/$tg" -H "$AUTH" "$@" 2>>"$LOG" \
        | grep '^OLJSON ' | cut -c8-)
  record "$out" "$r" "$t" "$tg" $(( $(cpu_ticks "$GW_PID") - g0 )) $(( $(cpu_ticks "$SIM_PID") - s0 ))
  echo "$out" | python3 -c 'import sys,json
try: j=json.loads(sys.stdin.read())
except Exception: print("FAILED"); sys.exit()
print("ok=%d err=%d p50=%.3f p90=%.3f p99=%.3f ttfb50=%.3f ms backlog=%d events=%.1f" % (j["ok"], j["errors"], j["svc_p50_us"]/1e3, j["svc_p90_us"]/1e3, j["svc_p99_us"]/1e3, j["ttfb_p50_us"]/1e3, j["backlog_max"], j["events_avg"]))'
}
run_wrk() { # round target
  local r=$1 tg=$2 g0 s0 out
  g0=$(cpu_ticks "$GW_PID"); s0=$(cpu_ticks "$SIM_PID")
  out=$(BENCH_BODY="$BODY" BENCH_HEADERS="$AUTH" timeout $(( MAX_DUR + 60 )) $PIN_GEN wrk -t"$MAX_THREADS" -c"$MAX_CONNS" \
        -d"${MAX_DUR}s" -s "$WRK_LUA" "http://127.0.0.1:${PORT_OF[$tg]}$API_PATH" 2>>"$LOG" | grep '^WRKJSON ' | cut -c9-)
  record "$out" "$r" max "$tg" $(( $(cpu_ticks "$GW_PID") - g0 )) $(( $(cpu_ticks "$SIM_PID") - s0 ))
  echo "$out" | python3 -c 'import sys,json
try: j=json.loads(sys.stdin.read())
except Exception: print("FAILED"); sys.exit()
print("rps=%.0f errors=%d p50=%.3f p99=%.3f ms" % (j["rps"], j["err_connect"]+j["err_read"]+j["err_write"]+j["err_status"]+j["err_timeout"], j["lat_p50_us"]/1e3, j["lat_p99_us"]/1e3))'
}

# ---------------------------------------------------------------- warm-up (JIT of both JVMs)
log "warm-up: ${WARMUP_S}s closed loop through sluice (warms the sim too), $(( WARMUP_S / 4 ))s direct, 3s of streams each"
for tg in sluice direct; do
  d=$WARMUP_S; [ "$tg" = direct ] && d=$(( WARMUP_S / 4 ))
  BENCH_BODY="$BODY" BENCH_HEADERS="$AUTH" timeout $(( d + 30 )) $PIN_GEN wrk -t1 -c"$MAX_CONNS" -d"${d}s" -s "$WRK_LUA" \
    "http://127.0.0.1:${PORT_OF[$tg]}$API_PATH" > /dev/null 2>&1
  timeout 60 $PIN_GEN "$OLGEN" -u "http://127.0.0.1:${PORT_OF[$tg]}$API_PATH" -b "$BODY_STREAM" -r 300 -d 3 -c 50 -S \
    -H "$AUTH" > /dev/null 2>&1
done

# ---------------------------------------------------------------- interleaved rounds
for r in $(seq 1 "$ROUNDS"); do
  if (( r % 2 )); then order=(direct sluice); else order=(sluice direct); fi
  log "=== round $r/$ROUNDS: ${order[*]}"
  for t in $TESTS; do
    case $t in
      fixed)
        spin_on
        for rate in $FIXED_RATES; do for tg in "${order[@]}"; do
          log "  fixed_$rate $tg: $(run_olgen "$r" "fixed_$rate" "$tg" "$rate" "$FIXED_DUR" "$FIXED_WARM" "$FIXED_CONNS" "$BODY")"
        done; done ;;
      sse)
        spin_on
        for rate in $SSE_RATES; do for tg in "${order[@]}"; do
          log "  sse_$rate $tg: $(run_olgen "$r" "sse_$rate" "$tg" "$rate" "$SSE_DUR" "$SSE_WARM" "$SSE_CONNS" "$BODY_STREAM" -S)"
        done; done ;;
      max)
        spin_off
        [ "$PIN" = 1 ] && taskset -a -p -c "$MAX_SIM_CPU" "$SIM_PID" > /dev/null
        for tg in "${order[@]}"; do
          log "  max $tg: $(run_wrk "$r" "$tg")"
          sleep 1
        done
        [ "$PIN" = 1 ] && taskset -a -p -c "$CPU_SUT" "$SIM_PID" > /dev/null ;;
      *) log "unknown test '$t' skipped" ;;
    esac
  done
done
spin_off

# ---------------------------------------------------------------- summary
python3 "$SELF_DIR/scripts/summarize.py" "$RAW" "$OUT/env.txt" | tee "$OUT/summary.md"
log "results: $OUT"
