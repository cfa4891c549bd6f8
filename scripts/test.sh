#!/usr/bin/env bash
# Runs every check and test the project has, from a fresh clone: installs the
# test tools (idempotently), starts the AWS emulators on loopback, runs
# everything, stops the emulators, and fuzzes the local stack from its
# OpenAPI document. Used by CI (.ci/run) and by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

# Emulators only: never look for real AWS credentials or instance metadata.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true

echo "== tools"
eval "$(scripts/install-tools.sh)"
echo "== format"
cargo fmt --all -- --check
echo "== lint"
cargo clippy --workspace --all-targets -- -D warnings
if [[ -f template.yaml ]]; then
  echo "== template"
  cfn-lint template.yaml
  # Every function through `sam build`, as a deploy builds it (arm64, release).
  echo "== lambda build"
  scripts/build-lambdas.sh
fi

echo "== emulators"
log=$(mktemp)
source scripts/emulators.sh
trap 'stop_emulators; rm -f "$log"' EXIT

echo "== tests"
set +e
cargo test --workspace --lib --bins --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s += $1} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
echo "tests: $passed passed, $failed failed"
[[ $status -eq 0 ]] || exit "$status"

# The running stack against its own OpenAPI document (no emulators needed).
echo "== fuzz"
scripts/fuzz.sh
