#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document: starts the local stack on
# a free loopback port over an embedded store in a temporary directory, mints
# an owner's token, places one order for the fuzzer to aim at, and runs
# schemathesis against /openapi.json. Fails on any 5xx, any response that
# does not match its documented status, content type, headers or schema, and
# any command answered 4xx that changed something (scripts/fuzz_hooks.py).
# Then checks every event the run published against schemas/events.json.
# Bounded: FUZZ_EXAMPLES cases per operation (default 15), one worker, and
# FUZZ_MAX_SECONDS (240) for the whole schemathesis run.
#
#   scripts/fuzz.sh            (after `eval "$(scripts/install-tools.sh)"`)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

PY="${FUZZ_PYTHON:-${TOOLS_PYTHON:-.tools/venv/bin/python}}"
ST="$(dirname "$PY")/schemathesis"
[[ -x "$ST" ]] || { echo "fuzz: schemathesis not found beside $PY; run scripts/install-tools.sh" >&2; exit 1; }
EXAMPLES="${FUZZ_EXAMPLES:-15}"
SEED="${FUZZ_SEED:-$RANDOM}"

cargo build --quiet --bin order-tracking
BIN=target/debug/order-tracking
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
base="http://127.0.0.1:$port"
# No stall sweeps: nothing but the fuzzer (and the notifier) writes.
# The tenant's Stripe connection, for one signed payment below.
secret=whsec_fuzz_local_only
WEBHOOK_SECRETS="{\"fuzz\": {\"stripe\": \"$secret\"}}" \
  "$BIN" --data-dir "$work/data" --addr "127.0.0.1:$port" --sweep-every 0 \
  --public-url "$base" >"$work/stack.log" 2>&1 &
stack=$!
stop() {
  kill "$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT
for _ in $(seq 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null

token=$("$BIN" token --tenant fuzz --role owner)
checkout='{
  "customer_id": "cus_fuzz", "currency": "CAD", "fulfilment": "shipping",
  "items": [{"sku": "TEA-1", "name": "Green tea", "quantity": 2, "unit_price": 1250}],
  "shipping": {"method": "standard", "name": "Ada Lovelace",
    "address": {"line1": "1 Main St", "city": "Toronto", "postal_code": "M5V 1A1", "country": "CA"}}}'
order=$(curl -fsS "$base/orders" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$checkout")
field() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])" <<<"$order"; }

# Another order walked to shipped, so the events checked at the end include
# more than the fuzzer's own.
api() {
  curl -fsS -X "$1" "$base$2" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} >/dev/null
}
walked=$(curl -fsS "$base/orders" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "$(sed 's/cus_fuzz/cus_walked/' <<<"$checkout")" | python3 -c "import json, sys; print(json.load(sys.stdin)['id'])")
for to in confirmed packing; do api POST "/orders/$walked/transitions" "{\"to\": \"$to\"}"; done
api POST "/orders/$walked/transitions" '{"to": "shipped", "tracking": {"carrier": "canada_post", "code": "CP123456789CA"}}'
api POST "/orders/$walked/shipments" '{"carrier": "ups", "code": "1Z999AA10123456784"}'
api POST "/orders/$walked/notes" '{"text": "second box sent separately"}'
# Stripe's sample event for this order, signed as Stripe signs.
python3 - "$base" "$walked" "$secret" events/webhook-stripe-succeeded.json <<'PY'
import hashlib, hmac, sys, time, urllib.request
base, order_id, secret, sample = sys.argv[1:5]
body = open(sample).read().replace("ord_0123456789abcdef0123456789abcdef", order_id).encode()
t = int(time.time())
v1 = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
request = urllib.request.Request(f"{base}/webhooks/fuzz/payment/stripe", data=body, method="POST",
    headers={"Content-Type": "application/json", "Stripe-Signature": f"t={t},v1={v1}"})
urllib.request.urlopen(request, timeout=10).read()
PY

echo "fuzz: $base, $EXAMPLES examples per operation, seed $SEED"
started=$(date +%s)
# Its cache of failures stays with the run, not in the work tree.
cd "$work"
set +e
FUZZ_BASE_URL="$base" FUZZ_TOKEN="$token" FUZZ_SEED="$SEED" \
  FUZZ_ORDER_ID="$(field id)" FUZZ_PUBLIC_ID="$(field public_id)" FUZZ_SENT_FILE="$work/sent" \
  SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH="$root/scripts" \
  timeout "${FUZZ_MAX_SECONDS:-240}" "$ST" run "$base/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,no_change_on_client_error \
  --phases examples,coverage,fuzzing \
  --exclude-path-regex '^/(orders/stream|track/\{public_id\}/events)$' \
  --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
  --request-timeout 10 --no-color
status=$?
set -e
cd - >/dev/null
echo "fuzz: $(cat "$work/sent" 2>/dev/null || echo '?') requests in $(($(date +%s) - started)) s"
[[ $status -eq 0 ]] || { echo "fuzz: failed; the stack's log:"; tail -n 40 "$work/stack.log"; exit "$status"; }

"$PY" scripts/check_events.py "$base" "$token" schemas/events.json
