#!/usr/bin/env bash
# Benchmark: tack's native Helm renderer against `helm template` (v4.3.2) on the largest charts of the golden
# corpus, outputs compared byte for byte.
#
#   scripts/bench-helm.sh [RUNS]        # default 5 runs per chart and tool; the best wall time is reported
#
# tack side: the release build of the `tack` binary, `tack render CHART --release-name NAME [FLAGS]` (the
# command users run; helm's `-a` is tack's `--api-versions`). Also measured: an umbrella of N aliases of the webapp chart (N = 10, 25, 50,
# 100) to show how the render time grows with the number of subcharts. Peak memory is GNU time's "Maximum
# resident set size". Set TACK_BIN to a tack binary to measure it instead of building one.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-5}"
helm="$(bash "$root/testenv/oracles.sh" helm | sed -n 's/^helm=//p')"
target="${CARGO_TARGET_DIR:-$root/target}"
if [ -z "${TACK_BIN:-}" ]; then
  (cd "$root" && cargo build --release -p tack-cli >&2)
  TACK_BIN="$target/release/tack"
fi

# tack_args NAME CHART [helm flags...]: sets TARGS to `tack render`'s arguments for helm template's.
tack_args() {
  local name=$1 chart=$2; shift 2
  TARGS=(render "$chart" --release-name "$name")
  while [ $# -gt 0 ]; do
    case "$1" in
      -a) TARGS+=(--api-versions "$2"); shift 2 ;;
      *) TARGS+=("$1"); shift ;;
    esac
  done
}
charts="$root/crates/helm/tests/charts"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export HOME="$scratch" KUBECONFIG="$scratch/kubeconfig" HELM_CACHE_HOME="$scratch/cache" \
  HELM_CONFIG_HOME="$scratch/config" HELM_DATA_HOME="$scratch/data"
: > "$KUBECONFIG"

# An umbrella chart with N aliases of webapp (each with its common library).
scale_chart() {
  local n=$1 dir="$scratch/scale-$1"
  mkdir -p "$dir/charts" "$dir/templates"
  cp "$charts"/platform/charts/webapp-*.tgz "$dir/charts/"
  { echo "apiVersion: v2"; echo "name: scale-$n"; echo "version: 1.0.0"; echo "dependencies:"
    for i in $(seq 1 "$n"); do printf '  - name: webapp\n    version: 1.4.0\n    alias: app%03d\n' "$i"; done
  } > "$dir/Chart.yaml"
  { for i in $(seq 1 "$n"); do printf 'app%03d:\n  ingress:\n    enabled: true\n  autoscaling:\n    enabled: true\n  pdb:\n    create: true\n' "$i"; done; } > "$dir/values.yaml"
  echo "$dir"
}

# measure TOOL ARGS...: best wall seconds (nanosecond clock), its CPU seconds (user + system) and peak RSS
# (KiB) over $runs runs.
measure() {
  local best_wall="" best_rss="" best_cpu=""
  for _ in $(seq 1 "$runs"); do
    local t0 t1 wall rss cpu
    t0=$(date +%s%N)
    /usr/bin/time -v -o "$scratch/time" "$@" > "$scratch/out" 2>/dev/null
    t1=$(date +%s%N)
    wall=$(awk "BEGIN{print ($t1 - $t0) / 1e9}")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$scratch/time")
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$scratch/time")
    if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; best_rss=$rss; best_cpu=$cpu; fi
  done
  echo "$best_wall $best_rss $best_cpu"
}

printf '%-32s %8s %8s %8s %9s %9s %9s %9s %s\n' chart helm_s tack_s speedup helm_cpu tack_cpu helm_MiB tack_MiB identical
bench() {
  local name=$1; shift
  "$helm" template "$@" > "$scratch/helm.out" 2>&1 || true
  tack_args "$@"
  "$TACK_BIN" "${TARGS[@]}" > "$scratch/tack.out" 2>&1 || true
  local same=yes
  cmp -s "$scratch/helm.out" "$scratch/tack.out" || same=NO
  read -r hw hr hc < <(measure "$helm" template "$@")
  read -r tw tr tc < <(measure "$TACK_BIN" "${TARGS[@]}")
  printf '%-32s %8.3f %8.3f %7.1fx %9.2f %9.2f %9.1f %9.1f %s\n' "$name" "$hw" "$tw" \
    "$(awk "BEGIN{print $hw / ($tw > 0 ? $tw : 0.001)}")" "$hc" "$tc" "$(awk "BEGIN{print $hr/1024}")" "$(awk "BEGIN{print $tr/1024}")" "$same"
}

bench "platform (prod, 22 subcharts)" platform "$charts/platform" -f "$charts/platform/values-prod.yaml" -a monitoring.coreos.com/v1
bench "platform (defaults)" platform "$charts/platform"
bench "webapp (prod)" web "$charts/webapp" -f "$charts/webapp/ci/prod-values.yaml" -a monitoring.coreos.com/v1
bench "database (metrics, backup)" db "$charts/database" -f "$charts/database/ci/metrics-backup-values.yaml"
for n in 10 25 50 100; do
  dir=$(scale_chart "$n")
  bench "umbrella of $n webapps" scale "$dir"
done
