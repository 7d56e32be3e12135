#!/usr/bin/env bash
# Benchmark: tack's `jsonnet` command line (release build of tack-jsonnet's tack-jsonnet-cli, the code behind
# `tack jsonnet`) against go-jsonnet v0.22.0 on the largest application of the golden corpus
# (crates/jsonnet/tests/golden/apps/microservice), as it is and scaled to many services. Outputs are compared
# byte for byte; wall time and CPU time (user + system, to the microsecond) are the best of RUNS, peak RSS the
# largest of RUNS runs under GNU time. On a busy machine the CPU time is the steadier figure.
#
#   scripts/bench-jsonnet.sh [RUNS]      # default 5
#   TACK_JSONNET_CLI=BIN scripts/bench-jsonnet.sh 7   # measure a release build made beforehand
#   TACK_BIN=target/release/tack scripts/bench-jsonnet.sh 7   # measure `tack jsonnet` of the tack binary itself
#                                                     # (its allocator is mimalloc, the CLI's glibc's malloc)
set -euo pipefail
tack_args=()
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=${1:-5}
jsonnet=$("$root/testenv/oracles.sh" jsonnet | sed -n 's/^jsonnet=//p')
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
if [ -n "${TACK_BIN:-}" ]; then
  tack=$TACK_BIN; tack_args=(jsonnet)
elif [ -n "${TACK_JSONNET_CLI:-}" ]; then
  tack=$TACK_JSONNET_CLI   # a release build made beforehand
else
  cargo build --release -q -p tack-jsonnet --bin tack-jsonnet-cli
  tack="$CARGO_TARGET_DIR/release/tack-jsonnet-cli"
fi
app="$root/crates/jsonnet/tests/golden/apps/microservice"
many=$(seq -f 'svc%03g' 1 300 | paste -sd, -)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# measure BINARY ARGS...: prints "best wall seconds, peak RSS KiB, best CPU seconds" over $runs runs. Wall and
# CPU time (user + system, from the kernel's accounting of the child, to the microsecond) come from Python; the
# peak RSS from GNU time in separate runs (a child forked from Python would count Python's own pages).
measure() {
  local bin=$1; shift
  local rss=0 r
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%M' -o "$tmp/rss" "$bin" "$@" > /dev/null
    r=$(tail -1 "$tmp/rss"); [ "$r" -gt "$rss" ] && rss=$r
  done
  python3 - "$runs" "$tmp/out.$(basename "$bin")" "$rss" "$bin" "$@" <<'PY'
import os, sys, time
runs, out, rss, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
best_wall = best_cpu = None
for _ in range(runs):
    with open(out, "wb") as f:
        start = time.perf_counter()
        pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, f.fileno(), 1)])
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed")
    cpu = usage.ru_utime + usage.ru_stime
    best_wall = wall if best_wall is None else min(best_wall, wall)
    best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
print(f"{best_wall:.3f} {rss} {best_cpu:.3f}")
PY
}

printf '%-20s %8s %8s %8s %8s %10s %10s %8s %8s %s\n' case go-wall tack-wall go-cpu tack-cpu go-RSS-KiB tack-RSS-KiB wall-x cpu-x output
for case in "prod:--tla-str env=prod" "staging-yaml:-y --tla-str env=staging" "prod-300-services:--tla-str env=prod --tla-str services=$many"; do
  name=${case%%:*}; read -ra args <<< "${case#*:}"
  cd "$app"
  read -r gt gr gc < <(measure "$jsonnet" -J vendor "${args[@]}" main.jsonnet)
  read -r tt tr tc < <(measure "$tack" "${tack_args[@]}" -J vendor "${args[@]}" main.jsonnet)
  same=identical; cmp -s "$tmp/out.jsonnet" "$tmp/out.$(basename "$tack")" || same=DIFFERENT
  speed=$(awk "BEGIN{ if ($tt > 0) printf \"%.1fx\", $gt / $tt; else print \"inf\" }")
  cspeed=$(awk "BEGIN{ if ($tc > 0) printf \"%.1fx\", $gc / $tc; else print \"inf\" }")
  printf '%-20s %7ss %7ss %7ss %7ss %10s %10s %8s %8s %s (%s bytes)\n' "$name" "$gt" "$tt" "$gc" "$tc" "$gr" "$tr" "$speed" "$cspeed" "$same" "$(wc -c < "$tmp/out.jsonnet")"
done
