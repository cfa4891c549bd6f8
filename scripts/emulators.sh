# Sourced by scripts/test.sh: starts Amazon DynamoDB Local and moto_server
# (EventBridge + SQS) on free loopback ports, exports their endpoints, and
# stops them when the calling shell exits. Needs the exports of
# scripts/install-tools.sh.

EMULATOR_PIDS=()
EMULATOR_LOGS="$PWD/target/emulators"
mkdir -p "$EMULATOR_LOGS"

stop_emulators() {
  local pid
  for pid in "${EMULATOR_PIDS[@]:-}"; do
    [[ -n "$pid" ]] || continue
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

wait_for_http() {
  local name="$1" url="$2" log="$3" i
  for ((i = 0; i < 240; i++)); do
    if curl -s -o /dev/null --max-time 1 "$url"; then
      echo "$name ready at $url"
      return 0
    fi
    sleep 0.25
  done
  echo "$name did not start; its log:" >&2
  cat "$log" >&2
  return 1
}

ddb_port=$(free-port)
DDB_LOCAL_TELEMETRY=0 java -Djava.library.path="$DYNAMODB_LOCAL_DIR/DynamoDBLocal_lib" \
  -jar "$DYNAMODB_LOCAL_JAR" -inMemory -sharedDb -disableTelemetry -port "$ddb_port" \
  >"$EMULATOR_LOGS/dynamodb-local.log" 2>&1 &
EMULATOR_PIDS+=("$!")
# The benchmarks read its CPU time per command from /proc.
export DYNAMODB_LOCAL_PID=$!
moto_port=$(free-port)
moto_server -H 127.0.0.1 -p "$moto_port" >"$EMULATOR_LOGS/moto.log" 2>&1 &
EMULATOR_PIDS+=("$!")

export DYNAMODB_ENDPOINT="http://127.0.0.1:$ddb_port"
export MOTO_ENDPOINT="http://127.0.0.1:$moto_port"
wait_for_http "DynamoDB Local" "$DYNAMODB_ENDPOINT" "$EMULATOR_LOGS/dynamodb-local.log"
wait_for_http "moto_server" "$MOTO_ENDPOINT/moto-api/" "$EMULATOR_LOGS/moto.log"
