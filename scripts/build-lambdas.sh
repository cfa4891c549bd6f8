#!/usr/bin/env bash
# Builds the Lambda functions exactly as a deploy ships them: `sam build
# --beta-features` from template.yaml (cargo-lambda, release, arm64), into
# target/sam/, then checks that every function SAM built has a `bootstrap`
# that is a 64-bit aarch64 ELF without the embedded store (SQLite) in it and
# prints its size, zipped size and the time the build took.
#
#   scripts/build-lambdas.sh                     every function in template.yaml
#   scripts/build-lambdas.sh CheckoutFunction    only the functions named
#
# Needs `sam`, `cargo-lambda` and `zig` on PATH (eval "$(scripts/install-tools.sh)").
# Never contacts AWS: `sam build` needs no account, and telemetry is off.
#
# Cargo's target directory is LAMBDA_TARGET_DIR, by default a cache outside the
# checkout (~/.cache/order-tracking/lambda-target): CI clones afresh for every
# run, so only there do the compiled dependencies outlive a run, and the
# release/arm64 build never touches the dev build in target/.
set -euo pipefail
cd "$(dirname "$0")/.."

export SAM_CLI_TELEMETRY=0
export CARGO_TARGET_DIR="${LAMBDA_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/order-tracking/lambda-target}"
build_dir=target/sam

log() { printf '[build-lambdas] %s\n' "$*" >&2; }

# A stale function directory from an earlier build must not pass for this one.
rm -rf "$build_dir"
start=$SECONDS
log "sam build --beta-features $* (cargo target: $CARGO_TARGET_DIR)"
sam build --beta-features --build-dir "$build_dir" "$@" >&2
elapsed=$((SECONDS - start))

# SAM rewrites each built function's CodeUri to its artifact directory.
mapfile -t functions < <(sed -n 's/^ *CodeUri: *\([A-Za-z0-9]*Function\) *$/\1/p' "$build_dir/template.yaml")
expected=$#
[[ $expected -gt 0 ]] || expected=$(grep -c 'BuildMethod: rust-cargolambda' template.yaml)
if [[ ${#functions[@]} -ne $expected ]]; then
  log "ERROR: expected $expected built functions, found ${#functions[@]}: ${functions[*]:-none}"
  exit 1
fi

for function in "${functions[@]}"; do
  python3 - "$build_dir/$function/bootstrap" <<'PY'
import io, os, sys, zipfile
path = sys.argv[1]
name = path.split("/")[-2]
try:
    with open(path, "rb") as f:
        header = f.read(20)
except OSError as e:
    sys.exit(f"[build-lambdas] ERROR: {name}: {e}")
# e_ident: magic, class 2 = 64-bit, data 1 = little-endian; e_machine 183 = EM_AARCH64.
if header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1 or int.from_bytes(header[18:20], "little") != 183:
    sys.exit(f"[build-lambdas] ERROR: {name}: bootstrap is not a 64-bit aarch64 ELF")
if not os.access(path, os.X_OK):
    sys.exit(f"[build-lambdas] ERROR: {name}: bootstrap is not executable")
# SQLite's file header, in every build that links it: the embedded store is
# for local runs and tests (order-core's `embedded` feature), never deployed.
with open(path, "rb") as f:
    if b"SQLite format 3" in f.read():
        sys.exit(f"[build-lambdas] ERROR: {name}: bootstrap carries the embedded store (SQLite)")
# The deployment package is the bootstrap zipped, as `sam deploy` uploads it.
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(path, "bootstrap")
print(f"[build-lambdas] {name}: aarch64 ELF, bootstrap {os.path.getsize(path) / 1e6:.1f} MB, zip {len(buf.getvalue()) / 1e6:.1f} MB", file=sys.stderr)
PY
done
log "${#functions[@]} function(s) built for arm64 in ${elapsed}s"
