#!/usr/bin/env bash
# Benchmark: tack's `jsonnet` command line (release build of tack-jsonnet's tack-jsonnet-cli, the code behind
# `tack jsonnet`) against go-jsonnet v0.22.0 on the largest application of the golden corpus
# (crates/jsonnet/tests/golden/apps/microservice), as it is and scaled to many services. Outputs are compared
# byte for byte; wall time and CPU time (user + system) are the best of RUNS, peak RSS from GNU time. On a busy
# machine the CPU time is the steadier figure.
#
#   scripts/bench-jsonnet.sh [RUNS]      # default 5
#   TACK_JSONNET_CLI=BIN scripts/bench-jsonnet.sh 7   # measure a release build made beforehand
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=${1:-5}
jsonnet=$("$root/testenv/oracles.sh" jsonnet | sed -n 's/^jsonnet=//p')
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
if [ -n "${TACK_JSONNET_CLI:-}" ]; then
  tack=$TACK_JSONNET_CLI   # a release build made beforehand
else
  cargo build --release -q -p tack-jsonnet --bin tack-jsonnet-cli
  tack="$CARGO_TARGET_DIR/release/tack-jsonnet-cli"
fi
app="$root/crates/jsonnet/tests/golden/apps/microservice"
many=$(seq -f 'svc%03g' 1 300 | paste -sd, -)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# measure BINARY ARGS...: prints "best wall seconds, peak RSS KiB, best CPU seconds" over $runs runs.
measure() {
  local bin=$1; shift
  local best="" rss=0 cpu="" t r u s c
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M %U %S' -o "$tmp/time" "$bin" "$@" > "$tmp/out.$(basename "$bin")"
    read -r t r u s < "$tmp/time"
    c=$(awk "BEGIN{print $u + $s}")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    if [ -z "$cpu" ] || awk "BEGIN{exit !($c < $cpu)}"; then cpu=$c; fi
    [ "$r" -gt "$rss" ] && rss=$r
  done
  echo "$best $rss $cpu"
}

printf '%-20s %8s %8s %8s %8s %10s %10s %8s %8s %s\n' case go-wall tack-wall go-cpu tack-cpu go-RSS-KiB tack-RSS-KiB wall-x cpu-x output
for case in "prod:--tla-str env=prod" "staging-yaml:-y --tla-str env=staging" "prod-300-services:--tla-str env=prod --tla-str services=$many"; do
  name=${case%%:*}; read -ra args <<< "${case#*:}"
  cd "$app"
  read -r gt gr gc < <(measure "$jsonnet" -J vendor "${args[@]}" main.jsonnet)
  read -r tt tr tc < <(measure "$tack" -J vendor "${args[@]}" main.jsonnet)
  same=identical; cmp -s "$tmp/out.jsonnet" "$tmp/out.tack-jsonnet-cli" || same=DIFFERENT
  speed=$(awk "BEGIN{ if ($tt > 0) printf \"%.1fx\", $gt / $tt; else print \"inf\" }")
  cspeed=$(awk "BEGIN{ if ($tc > 0) printf \"%.1fx\", $gc / $tc; else print \"inf\" }")
  printf '%-20s %7ss %7ss %7ss %7ss %10s %10s %8s %8s %s (%s bytes)\n' "$name" "$gt" "$tt" "$gc" "$tc" "$gr" "$tr" "$speed" "$cspeed" "$same" "$(wc -c < "$tmp/out.jsonnet")"
done
