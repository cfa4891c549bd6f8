#!/usr/bin/env bash
# Transitions per second through the local HTTP API, measured with wrk
# against the release binary of the local stack, on the SQLite file and with
# `--memory`, beside /healthz on the same server (the HTTP floor of this
# machine). Each store gets a fresh server on a free loopback port (sweeps
# off, RUST_LOG=warn); wrk places pickup orders (checkout.lua, keeping every
# id), then walks them pending -> accepted -> in_progress -> ready ->
# completed (transitions.lua), one wrk thread, CONNS connections.
#
#   scripts/bench-http.sh [seconds=10] [connections=16]
#
# Builds `cargo build --release` first (honouring CARGO_TARGET_DIR), or runs
# BIN if set. Prints p50/p99 and the `@row` / `@num` lines of http_file and
# http_memory for scripts/bench.py. Needs wrk (Debian package).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
lua="$root/benches/wrk"
secs="${1:-10}"; conns="${2:-16}"
if [ -z "${BIN:-}" ]; then
  (cd "$root" && cargo build --release --quiet --bin order-tracking)
  BIN="${CARGO_TARGET_DIR:-$root/target}/release/order-tracking"
  case "$BIN" in /*) ;; *) BIN="$root/$BIN" ;; esac
fi
work="$(mktemp -d)"
pid=""
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
trap 'stop; rm -rf "$work"' EXIT
export TOKEN="$("$BIN" token --tenant acme --role manager)"

# Starts a fresh stack with the given store arguments; sets pid and base.
start() {
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  rm -rf "$work/data"; mkdir -p "$work/data"
  RUST_LOG=warn "$BIN" --addr "127.0.0.1:$port" --data-dir "$work/data" --sweep-every 0 "$@" \
    >"$work/stack.log" 2>&1 &
  pid=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.1; done
  echo "the stack did not start:" >&2; cat "$work/stack.log" >&2; exit 1
}

# wrk's "Latency" percentile line, in milliseconds.
ms() { awk -v p="$1" '$1 == p { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
  print (u == "us" ? v / 1000 : u == "s" ? v * 1000 : u == "m" ? v * 60000 : v) }'; }

healthz() {
  local out
  out="$(wrk -t1 -c"$conns" -d"${secs}s" --latency "$base/healthz")"
  floor="$(awk '/Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")"
  echo "  /healthz: $floor req/s, p50 $(ms 50% <<<"$out") ms, p99 $(ms 99% <<<"$out") ms"
}

# The server's CPU time so far, in clock ticks (user + system).
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }

# Places orders for `secs` seconds, then walks them for `secs` seconds; sets
# rate, p50, p99.
transitions() {
  export IDS_FILE="$work/ids"
  local placed out before after
  placed="$(wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$lua/checkout.lua" "$base")"
  echo "  checkout: $(awk '/Requests\/sec/ { printf "%.0f", $2 }' <<<"$placed") orders/s ($(wc -l <"$IDS_FILE") placed)"
  before="$(ticks)"
  out="$(wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$lua/transitions.lua" "$base")"
  after="$(ticks)"
  read -r ok other issued needed seconds p50 p99 < <(grep '^@wrk' <<<"$out" | sed -E 's/@wrk //; s/[a-z0-9_]+=//g')
  if [ "$issued" -gt "$needed" ]; then
    echo "the orders ran out ($needed transitions): raise the seconds or the checkout rate" >&2; exit 1
  fi
  if [ "$other" -ne 0 ]; then
    echo "$other transitions were refused, the first:" >&2; sed '1,/^@wrk/d' <<<"$out" >&2; exit 1
  fi
  rate="$(awk -v n="$ok" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')"
  p50="$(printf %.1f "$p50")"; p99="$(printf %.1f "$p99")"
  # CPU per transition says more than the rate on a busy machine: it does
  # not count the time other processes took the cores.
  cpu="$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$ok" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')"
  echo "  transitions: $rate/s, p50 $p50 ms, p99 $p99 ms ($ok in ${seconds}s); server CPU $cpu µs each; RSS $(($(ps -o rss= -p "$pid") / 1024)) MB"
}

how="wrk -t1 -c$conns ${secs}s, pickup orders walked 4 transitions each, release binary"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (other work here slows every figure)"
echo "== SQLite file"
start
healthz
transitions
stop
echo "@row http_file|$rate transitions/s, p50 $p50 ms, p99 $p99 ms|/healthz $floor req/s|$how, SQLite file (WAL)"
echo "@num http_file $rate"
echo "== --memory"
start --memory
transitions
stop
echo "@row http_memory|$rate transitions/s, p50 $p50 ms, p99 $p99 ms|/healthz $floor req/s|$how, --memory"
echo "@num http_memory $rate"
