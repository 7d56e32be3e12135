#!/usr/bin/env bash
# Benchmark of the HTTP API behind the dashboard: N GitOpsConfigs (default 5 000, spread over 10 namespaces,
# suspended so no controller acts on them) on the cluster of $KUBECONFIG (e.g. `tack dev up`), then
# `tack dashboard` on a free port: the list endpoint's latency (first page of 500, and all N in one page)
# over R requests (p50 / p99 from curl's time_total), and the dashboard process's resident memory before the
# applications exist and after its watch cache holds them.
#
#   KUBECONFIG=… TACK_BIN=target/release/tack scripts/bench-api.sh [N] [R]
#
# The namespaces bench-api-0..9 are deleted at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n=${1:-5000}
runs=${2:-200}
tack=${TACK_BIN:-$root/target/release/tack}
[ -x "$tack" ] || { echo "build tack first (cargo build --release -p tack-cli) or set TACK_BIN" >&2; exit 1; }
tmp=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  for i in $(seq 0 9); do kubectl delete namespace "bench-api-$i" --wait=false >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

"$tack" install --print | kubectl apply --server-side -f - >/dev/null
for i in $(seq 0 9); do kubectl create namespace "bench-api-$i" --dry-run=client -o yaml | kubectl apply -f - >/dev/null; done

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
"$tack" dashboard --port 0 --read-only > "$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q http "$tmp/out" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$tmp/out" | head -1)
[ -n "$url" ] || { cat "$tmp/err" >&2; exit 1; }
curl -sf "$url/api/v1/applications?limit=1" >/dev/null
sleep 1
rss_empty=$(rss "$pid")

# N applications, written as one List per namespace.
for i in $(seq 0 9); do
  python3 - "$i" "$n" > "$tmp/apps-$i.json" <<'EOF'
import json, sys
i, n = int(sys.argv[1]), int(sys.argv[2])
items = [{
    "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
    "metadata": {"name": f"app-{k:05d}", "namespace": f"bench-api-{i}", "labels": {"team": f"t{k % 7}"}},
    "spec": {"source": {"repoURL": "https://git.example.invalid/mono.git", "path": f"apps/app-{k:05d}"},
             "destination": {"namespace": f"bench-api-{i}"}, "suspend": True},
} for k in range(i, n, 10)]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
EOF
done
t0=$(date +%s.%N)
appliers=()
for i in $(seq 0 9); do kubectl apply --server-side -f "$tmp/apps-$i.json" >/dev/null & appliers+=($!); done
wait "${appliers[@]}"
t1=$(date +%s.%N)
for _ in $(seq 600); do
  total=$(curl -sf "$url/api/v1/applications?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  [ "$total" -ge "$n" ] && break
  sleep 0.1
done
t2=$(date +%s.%N)
sleep 2
rss_full=$(rss "$pid")

# latency URL: runs requests, prints p50 and p99 in ms.
latency() {
  for _ in $(seq "$runs"); do curl -s -o /dev/null -w '%{time_total}\n' "$1"; done |
    sort -n | awk '{a[NR]=$1} END {printf "p50 %.1f ms, p99 %.1f ms", a[int(NR*0.5)]*1000, a[int(NR*0.99)]*1000}'
}
page=$(latency "$url/api/v1/applications?limit=500")
filtered=$(latency "$url/api/v1/applications?namespace=bench-api-3&label=team%3Dt2&limit=500")
all=$(latency "$url/api/v1/applications?limit=5000")
bytes=$(curl -s "$url/api/v1/applications?limit=5000" | wc -c)

echo "applications: $total (created in $(awk "BEGIN{printf \"%.1f\", $t1-$t0}") s by kubectl; in the API's list $(awk "BEGIN{printf \"%.1f\", $t2-$t1}") s later)"
echo "list, first page of 500:        $page"
echo "list, namespace + label filter: $filtered"
echo "list, all $n in one page:     $all ($bytes bytes)"
echo "dashboard RSS: $((rss_empty / 1024)) MiB with no application, $((rss_full / 1024)) MiB with $total (+$(((rss_full - rss_empty) / 1024)) MiB)"
