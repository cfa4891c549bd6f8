#!/usr/bin/env bash
# Runs a command with the test tools on PATH and DynamoDB Local and
# moto_server started on loopback (DYNAMODB_ENDPOINT, MOTO_ENDPOINT), e.g.
#   scripts/with-emulators.sh cargo bench -p order-core --bench dynamodb_cost
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
eval "$(scripts/install-tools.sh)"
source scripts/emulators.sh
trap stop_emulators EXIT
"$@"
