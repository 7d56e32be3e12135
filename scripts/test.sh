#!/usr/bin/env bash
# The test command: builds tack, builds (first time) and starts the local control plane, runs every test
# tier (unit, golden, integration against the control plane), and stops the control plane again.
#
#   ./scripts/test.sh            # everything
#   TACK_TEST_SKIP_LINT=1 ./scripts/test.sh   # skip fmt/clippy (local iteration)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
# One-shot builds gain nothing from incremental compilation and it doubles the target directory.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# The oracle tools are built below: a test that compares with one fails when it is missing, instead of skipping.
export TACK_REQUIRE_ORACLES=1
t0=$(date +%s)
step() { echo "==> [$(( $(date +%s) - t0 ))s] $*"; }

bash scripts/setup.sh
step "the repository is self-contained (no test reads outside it)"
bash scripts/check-self-contained.sh

# The control plane build is long the first time: start it now, beside the Rust build.
step "control plane binaries (cached under ${XDG_CACHE_HOME:-$HOME/.cache}/tack/control-plane)"
build_log=$(mktemp)
bash testenv/build.sh >"$build_log.out" 2>"$build_log" &
build_pid=$!
# The chart-source tests push with the reference helm to the Distribution registry, the SOPS tests compare
# with the reference sops: build them (cached).
oracles_log=$(mktemp)
bash testenv/oracles.sh helm registry sops kustomize >"$oracles_log.out" 2>"$oracles_log" &
oracles_pid=$!

if [ -z "${TACK_TEST_SKIP_LINT:-}" ]; then
  step "cargo fmt --check"
  cargo fmt --all -- --check
  step "cargo clippy"
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi
step "fuzz targets compile (cargo check fuzz/)"
cargo check --locked --manifest-path fuzz/Cargo.toml --bins
step "cargo build (tests and the tack binary)"
cargo build --workspace --locked
cargo test --workspace --locked --no-run

step "waiting for the control plane build"
if ! wait "$build_pid"; then
  echo "control plane build failed; its log:" >&2; tail -50 "$build_log" >&2; exit 1
fi
grep -E "^testenv:" "$build_log" || true
step "waiting for the oracle tools (helm, registry, sops, kustomize)"
if ! wait "$oracles_pid"; then
  echo "oracle tools build failed; its log:" >&2; tail -50 "$oracles_log" >&2; exit 1
fi

# A dedicated control plane for this run, so a developer's own `tack dev up` cluster is left alone.
export XDG_STATE_HOME="${TACK_TEST_STATE:-$(mktemp -d)}"
tack="${CARGO_TARGET_DIR:-$root/target}/debug/tack"
cleanup() { step "stopping the control plane"; "$tack" dev down || true; }
trap cleanup EXIT
step "tack dev up"
"$tack" dev up --timeout 180s
eval "$("$tack" dev env)"
export KUBECONFIG

step "cargo test (all tiers)"
cargo test --workspace --locked --no-fail-fast -- --include-ignored
step "done"
