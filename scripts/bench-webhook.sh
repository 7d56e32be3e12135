#!/usr/bin/env bash
# Webhook-to-applied latency: a commit is pushed to a local bare repository, a signed GitHub-format push webhook
# is POSTed to `tack controller --webhook-addr`, and the clock stops when the API server returns the changed
# ConfigMap. The application's interval is 10 minutes, so only the webhook can bring the change. Reports the
# median, minimum and maximum of RUNS runs. Needs the local control plane (`tack dev up`), git, curl, openssl
# and kubectl.
#
#   TACK_BIN=target/debug/tack RUNS=15 scripts/bench-webhook.sh      # or target/release/tack
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TACK="${TACK_BIN:-$ROOT/target/debug/tack}"
RUNS="${RUNS:-15}"; PORT="${PORT:-19180}"
[ -x "$TACK" ] || { echo "no tack binary at $TACK (cargo build -p tack-cli, or set TACK_BIN)" >&2; exit 1; }
for tool in git curl openssl kubectl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
"$TACK" dev up >/dev/null
eval "$("$TACK" dev env)"; export KUBECONFIG
work=$(mktemp -d); ns=bench-webhook
cleanup() {
  [ -n "${ctl:-}" ] && kill -TERM "$ctl" 2>/dev/null && wait "$ctl" 2>/dev/null || true
  kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The API server's address and the admin credentials, for fast reads with curl.
server=$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d > "$work/ca.pem"
kubectl config view --raw --minify -o jsonpath='{.users[0].user.client-certificate-data}' | base64 -d > "$work/cert.pem"
kubectl config view --raw --minify -o jsonpath='{.users[0].user.client-key-data}' | base64 -d > "$work/key.pem"
read_run() {
  curl -s --cacert "$work/ca.pem" --cert "$work/cert.pem" --key "$work/key.pem" \
    "$server/api/v1/namespaces/$ns/configmaps/settings" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("data",{}).get("run",""))' 2>/dev/null || true
}

git init -q --bare -b main "$work/repo.git"
git init -q -b main "$work/work"
commit() {
  mkdir -p "$work/work/app"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  run: "%s"\n' "$1" > "$work/work/app/configmap.yaml"
  git -C "$work/work" add -A
  git -C "$work/work" -c user.name=bench -c user.email=bench@localhost commit -qm "run $1"
  git -C "$work/work" push -q "$work/repo.git" HEAD:refs/heads/main
}
commit 0

"$TACK" install --crds-only >/dev/null
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
secret=$(openssl rand -hex 20); printf '%s' "$secret" > "$work/secret"
"$TACK" controller --single-namespace -n "$ns" --metrics-addr off --cache-dir "$work/cache" \
  --webhook-addr "127.0.0.1:$PORT" --webhook-secret-file "$work/secret" >"$work/controller.log" 2>&1 &
ctl=$!
cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: gitops.tack.dev/v1alpha1
kind: GitOpsConfig
metadata: {name: bench, namespace: $ns}
spec:
  source: {repoURL: "file://$work/repo.git", revision: main, path: app}
  destination: {namespace: $ns}
  syncPolicy: {interval: 10m, automated: {prune: true}}
EOF
for _ in $(seq 1 300); do [ "$(read_run)" = 0 ] && break; sleep 0.2; done
[ "$(read_run)" = 0 ] || { echo "the first sync did not happen; controller log:" >&2; cat "$work/controller.log" >&2; exit 1; }

times=()
for i in $(seq 1 "$RUNS"); do
  start=$(date +%s%N)
  commit "$i"
  sha=$(git -C "$work/work" rev-parse HEAD)
  body=$(printf '{"ref":"refs/heads/main","after":"%s","repository":{"clone_url":"file://%s/repo.git","default_branch":"main"}}' "$sha" "$work")
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')
  code=$(curl -s -o "$work/response" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/webhook/github" \
    -H 'X-GitHub-Event: push' -H "X-Hub-Signature-256: sha256=$sig" -H 'Content-Type: application/json' --data "$body")
  [ "$code" = 202 ] || { echo "run $i: webhook answered $code: $(cat "$work/response")" >&2; exit 1; }
  deadline=$(( $(date +%s) + 60 ))
  until [ "$(read_run)" = "$i" ]; do
    [ "$(date +%s)" -ge "$deadline" ] && { echo "run $i: not applied within 60 s" >&2; exit 1; }
    sleep 0.02
  done
  times+=("$(( ($(date +%s%N) - start) / 1000000 ))")
done
printf '%s\n' "${times[@]}" | python3 -c '
import statistics, sys
t = [int(x) for x in sys.stdin.read().split()]
print("| runs | median (ms) | min (ms) | max (ms) |")
print("|---:|---:|---:|---:|")
print(f"| {len(t)} | {statistics.median(t):.0f} | {min(t)} | {max(t)} |")'
