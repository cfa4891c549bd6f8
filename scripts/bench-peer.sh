#!/usr/bin/env bash
# The peer figures of issue 11's DynamoDB rows: builds benches/peer-cqrs (the
# 6-command shipping lifecycle on cqrs-es + dynamo-es, outside the workspace)
# in release and runs it against DynamoDB Local on a free loopback port.
#
#   scripts/bench-peer.sh                  200 orders
#   BENCH_ORDERS=50 scripts/bench-peer.sh
#
# Cargo's target directory is PEER_TARGET_DIR (default target/peer-cqrs), apart
# from the workspace's builds.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${PEER_TARGET_DIR:-$PWD/target/peer-cqrs}"
cargo build --release --quiet --manifest-path benches/peer-cqrs/Cargo.toml
exec scripts/with-emulators.sh "$CARGO_TARGET_DIR/release/peer-cqrs"
