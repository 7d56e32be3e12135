#!/usr/bin/env bash
# Rollout controller benchmark on the local control plane: one `tack controller` (scoped to a fresh namespace)
# drives ROLLOUTS canary Rollouts (1 replica; steps setWeight 50, pause). Reports the reaction latency from "the
# canary ReplicaSet has its pod Ready" to "the Rollout is at the next step" (p50, p99; first SEQUENTIAL updates
# one at a time, then all ROLLOUTS at once), and the controller's resident memory and CPU time (/proc).
#
#   TACK_BIN=target/release/tack ROLLOUTS=100 SEQUENTIAL=20 scripts/bench-rollouts.sh
#
# TACK_BIN defaults to target/release/tack (build it with `cargo build --release -p tack-cli`); the measuring
# program (crates/delivery/examples/bench_rollouts.rs) is built in the dev profile, it only watches.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TACK="${TACK_BIN:-$ROOT/target/release/tack}"
[ -x "$TACK" ] || { echo "no tack binary at $TACK (cargo build --release -p tack-cli, or set TACK_BIN)" >&2; exit 1; }
"$TACK" rollout --help >/dev/null 2>&1 || { echo "$TACK has no 'rollout' command: rebuild it" >&2; exit 1; }
"$TACK" dev up >/dev/null
eval "$("$TACK" dev env)"; export KUBECONFIG
cd "$ROOT"
TACK_BIN="$TACK" ROLLOUTS="${ROLLOUTS:-100}" SEQUENTIAL="${SEQUENTIAL:-20}" \
  cargo run -q -p tack-delivery --example bench_rollouts
