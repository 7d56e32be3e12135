#!/usr/bin/env bash
# Benchmarks one-shot sync: `tack sync` against `kubectl apply --server-side -f` on the same generated
# manifests (ConfigMaps and Deployments), each into its own fresh namespace on the local control plane,
# then a no-op re-sync of each (nothing changed).
#
# Usage: scripts/bench-sync.sh
# Environment:
#   TACK_BIN     tack binary (default target/release/tack, else target/debug/tack)
#   KUBECTL      kubectl (default: the local control plane's, under ~/.cache/tack/control-plane/*/bin, else
#                the one on PATH)
#   OBJECTS      number of objects (default 1000: half ConfigMaps, half Deployments)
#   CONCURRENCY  tack's requests in flight (default 16)
#   KEEP=1       keep the namespaces and the generated directory
#
# Needs a running cluster: `tack dev up` (KUBECONFIG is taken from `tack dev env` when unset).
# Output: the timings, and a markdown table row per measurement on stdout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TACK_BIN=${TACK_BIN:-}
if [ -z "$TACK_BIN" ]; then
  if [ -x target/release/tack ]; then TACK_BIN=target/release/tack; else TACK_BIN=target/debug/tack; fi
fi
if [ -z "${KUBECTL:-}" ]; then
  KUBECTL=$(ls -1 "${XDG_CACHE_HOME:-$HOME/.cache}"/tack/control-plane/*/bin/kubectl 2>/dev/null | tail -1 || true)
  [ -n "$KUBECTL" ] || KUBECTL=$(command -v kubectl || true)
fi
[ -x "$KUBECTL" ] || { echo "no kubectl found; set KUBECTL" >&2; exit 1; }
OBJECTS=${OBJECTS:-1000}
CONCURRENCY=${CONCURRENCY:-16}
if [ -z "${KUBECONFIG:-}" ]; then eval "$("$TACK_BIN" dev env)"; export KUBECONFIG; fi

dir=$(mktemp -d)
stamp=$(date +%s)
ns_tack="bench-tack-$stamp"
ns_kubectl="bench-kubectl-$stamp"
cleanup() {
  if [ -z "${KEEP:-}" ]; then
    "$KUBECTL" delete namespace "$ns_tack" "$ns_kubectl" --wait=false >/dev/null 2>&1 || true
    rm -rf "$dir"
  fi
}
trap cleanup EXIT

half=$((OBJECTS / 2))
for i in $(seq 1 "$half"); do
  cat >"$dir/cm-$i.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: config-$i
  labels: {app: bench, index: "$i"}
data:
  greeting: hello-$i
  settings.json: '{"replicas": 1, "index": $i}'
YAML
  cat >"$dir/deploy-$i.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-$i
  labels: {app: bench-$i}
spec:
  replicas: 1
  selector:
    matchLabels: {app: bench-$i}
  template:
    metadata:
      labels: {app: bench-$i}
    spec:
      containers:
      - name: app
        image: registry.example/app:1.0.$i
        ports:
        - containerPort: 8080
        env:
        - name: INDEX
          value: "$i"
YAML
done
count=$(ls "$dir" | wc -l)
echo "generated $count files ($half ConfigMaps, $half Deployments) in $dir" >&2

"$KUBECTL" create namespace "$ns_tack" >/dev/null
"$KUBECTL" create namespace "$ns_kubectl" >/dev/null

timeit() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); python3 -c "print(f'{$t1-$t0:.2f}')"; }

echo "kubectl apply --server-side (first apply)..." >&2
k1=$(timeit "$KUBECTL" apply --server-side -n "$ns_kubectl" -f "$dir")
echo "tack sync (first sync)..." >&2
t1=$(timeit "$TACK_BIN" sync "$dir" --name bench -n "$ns_tack" --concurrency "$CONCURRENCY" 2>"$dir.sync1.log")
echo "kubectl apply --server-side (again, nothing changed)..." >&2
k2=$(timeit "$KUBECTL" apply --server-side -n "$ns_kubectl" -f "$dir")
echo "tack sync (again, nothing changed)..." >&2
t2=$(timeit "$TACK_BIN" sync "$dir" --name bench -n "$ns_tack" --concurrency "$CONCURRENCY" 2>"$dir.sync2.log")

grep -h "plan:" "$dir.sync1.log" "$dir.sync2.log" >&2 || true
rm -f "$dir.sync1.log" "$dir.sync2.log"
n=$("$KUBECTL" get configmaps,deployments -n "$ns_tack" --no-headers 2>/dev/null | grep -vc kube-root-ca || true)
echo "objects in $ns_tack: $n (ConfigMaps + Deployments, incl. the inventory)" >&2
echo
echo "| measurement ($count objects) | kubectl apply --server-side | tack sync (concurrency $CONCURRENCY) | speed-up |"
echo "|---|---|---|---|"
echo "| first apply | $k1 s | $t1 s | $(python3 -c "print(f'{$k1/$t1:.1f}x')") |"
echo "| no-op re-apply | $k2 s | $t2 s | $(python3 -c "print(f'{$k2/$t2:.1f}x')") |"
