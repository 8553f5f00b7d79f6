#!/usr/bin/env bash
# A/B of two Sluice jars (and JVMs) side by side with nginx in the shared gateway harness, at one body size.
#
#   BASE_JAR=/tmp/perf-base.jar NEW_JAR=sluice-app/target/sluice.jar SIZE=190k sluice-bench/scripts/ab-harness.sh
#   SIZE=small TESTS="max fixed sse" ROUNDS=3 sluice-bench/scripts/ab-harness.sh direct nginx sluice-a sluice-b
#   A_JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java NEW_JAR=$BASE_JAR ...   # one jar on JDK 17 (b) vs JDK 25 (a)
#
# Copies the harness (HARNESS_DIR, default /work/shared/bench; never written to) into a temp dir, adds two Sluice
# peers made from sluice-bench/peers/sluice.sh: "sluice-a" runs BASE_JAR with A_JAVA, "sluice-b" NEW_JAR with B_JAVA
# (both `java` on the PATH unless set), each with auth.mode none and SLUICE_JAVA_OPTS (the peer's default heap
# -Xms256m -Xmx256m SerialGC unless set). SIZE picks the request body of every test: small (the harness's own,
# 0.2 KB), 20k (the agent body cut to ~20 KB: system prompt, tools and the first turns) or 190k (the harness's
# bodies-agent, 190 KB: system prompt, 20 tool definitions, 90 turns). Peers default to: direct nginx sluice-a
# sluice-b. Every other knob is the harness's own (ROUNDS, TESTS, FIXED_RATES, MAX_DUR, ...; see its README).
# The harness's rounds are interleaved and rotated, its tables medians over rounds; this script copies them to
# RESULTS_DIR/<size>-<timestamp>/ (default /tmp/sluice-ab) and prints the summary.
set -u -o pipefail
SELF_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(cd "$SELF_DIR/../.." && pwd)
HARNESS_DIR=${HARNESS_DIR:-/work/shared/bench}
BASE_JAR=${BASE_JAR:?set BASE_JAR (e.g. main built into /tmp/perf-base.jar)}
NEW_JAR=${NEW_JAR:-$REPO_DIR/sluice-app/target/sluice.jar}
A_JAVA=${A_JAVA:-java}
B_JAVA=${B_JAVA:-java}
SIZE=${SIZE:-190k}
RESULTS_DIR=${RESULTS_DIR:-/tmp/sluice-ab}
[ -f "$BASE_JAR" ] && [ -f "$NEW_JAR" ] || { echo "missing jar: $BASE_JAR or $NEW_JAR" >&2; exit 1; }
[ $# -gt 0 ] || set -- direct nginx sluice-a sluice-b

WORK=$(mktemp -d /tmp/sluice-ab-harness.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
(cd "$HARNESS_DIR" && tar cf - --exclude=./results --exclude=./bin --exclude=./portkey/node_modules .) | (cd "$WORK" && tar xf -)

case "$SIZE" in
  small) ;;
  190k) cp "$HARNESS_DIR/bodies-agent/chat.json" "$HARNESS_DIR/bodies-agent/chat_stream.json" "$WORK/bodies/" ;;
  20k) python3 "$SELF_DIR/agent_body.py" 20000 "$HARNESS_DIR/bodies-agent/chat.json" "$WORK/bodies/chat.json" \
         "$WORK/bodies/chat_stream.json" || exit 1 ;;
  *) echo "SIZE must be small, 20k or 190k" >&2; exit 1 ;;
esac

peer() { # name port jar java
  sed -e "s#^PEER_PORT=.*#PEER_PORT=$2#" -e "s#^SLUICE_JAR=.*#SLUICE_JAR=$3#" \
      -e "s#\$RUN_DIR/sluice\.json#\$RUN_DIR/$1.json#g" -e "s#\$RUN_DIR/sluice\.log#\$RUN_DIR/$1.log#g" \
      -e "s#\$PIN_SUT java #\$PIN_SUT $4 #" -e "s#^peer_version() { echo \"sluice #peer_version() { echo \"$1 #" \
      -e "s#java -version#$4 -version#" \
      "$REPO_DIR/sluice-bench/peers/sluice.sh" > "$WORK/peers/$1.sh"
}
PORT_BASE=${PORT_BASE:-19410} # upstream, nginx, haproxy, sluice-a, sluice-b: PORT_BASE .. +4 (the harness's own: 18xxx)
sed -i "s#^PEER_PORT=.*#PEER_PORT=$(( PORT_BASE + 1 ))#" "$WORK/peers/nginx.sh"
sed -i "s#^PEER_PORT=.*#PEER_PORT=$(( PORT_BASE + 2 ))#" "$WORK/peers/haproxy.sh"
peer sluice-a $(( PORT_BASE + 3 )) "$BASE_JAR" "$A_JAVA"
peer sluice-b $(( PORT_BASE + 4 )) "$NEW_JAR" "$B_JAVA"

UP_PORT=${UP_PORT:-$PORT_BASE} "$WORK/run.sh" "$@"
rc=$?
latest=$(ls -td "$WORK"/results/*/ 2>/dev/null | head -1)
if [ -n "$latest" ]; then
  dest="$RESULTS_DIR/$SIZE-$(basename "$latest")"
  mkdir -p "$dest" && cp -r "$latest". "$dest/"
  { echo "size: $SIZE ($(wc -c < "$WORK/bodies/chat.json") bytes); sluice-a: $BASE_JAR ($A_JAVA); sluice-b: $NEW_JAR ($B_JAVA)"; } >> "$dest/env.txt"
  echo "results: $dest"
fi
exit $rc
