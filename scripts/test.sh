#!/usr/bin/env bash
# Runs every check and test the project has. Used by CI (.ci/run) and by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== format"
cargo fmt --all -- --check
echo "== lint"
cargo clippy --workspace --all-targets -- -D warnings
echo "== tests"
cargo test --workspace
