# Sluice as a peer of the shared gateway-overhead harness (/work/shared/bench), next to nginx/haproxy/portkey.
# Usage (never write into /work/shared; use a copy):
#   cp -r /work/shared/bench /tmp/bench && cp sluice-bench/peers/sluice.sh /tmp/bench/peers/
#   (cd <repo> && mvn -B -q -o package -pl sluice-app -am -DskipTests)
#   SLUICE_JAR=<repo>/sluice-app/target/sluice.jar WARMUP_S=20 /tmp/bench/run.sh direct sluice nginx haproxy
# The harness sends bodies/chat.json ("model": "bench-model") with Authorization/x-portkey-* headers (ignored here);
# the config routes that model to the harness's C fake upstream as an OpenAI-compatible node.
PEER_PORT=${SLUICE_PEER_PORT:-18104}
PEER_HEADERS=()
SLUICE_JAR=${SLUICE_JAR:-}   # required: <repo>/sluice-app/target/sluice.jar
SLUICE_JAVA_OPTS=${SLUICE_JAVA_OPTS:-"-XX:+UseSerialGC -Xms256m -Xmx256m"}

peer_start() {
  [ -n "$SLUICE_JAR" ] && [ -f "$SLUICE_JAR" ] || { echo "set SLUICE_JAR to sluice-app/target/sluice.jar (got '$SLUICE_JAR'); build it with mvn -B -q -o package -pl sluice-app -am -DskipTests" >&2; return 1; }
  cat > "$RUN_DIR/sluice.json" <<JSON
{"server":{"host":"127.0.0.1","port":$PEER_PORT},
 "providers":{"bench":{"api":"openai","apiKey":"sk-bench-local","models":[{"id":"bench-model"}],
   "nodes":[{"id":"fake-upstream","baseUrl":"http://127.0.0.1:$UP_PORT/v1"}]}}}
JSON
  # shellcheck disable=SC2086
  $PIN_SUT java $SLUICE_JAVA_OPTS -jar "$SLUICE_JAR" serve --config "$RUN_DIR/sluice.json" --host 127.0.0.1 \
    --port "$PEER_PORT" --event-loops "$SUT_CPUS" > "$RUN_DIR/sluice.log" 2>&1 &
  track_pid $!
}
peer_version() { echo "sluice $(basename "$SLUICE_JAR"), $(java -version 2>&1 | head -1)"; }
