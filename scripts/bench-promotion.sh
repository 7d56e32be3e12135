#!/usr/bin/env bash
# Promotion at scale: PIPELINES pipelines × 3 stages (qa → e2e → prod, soak 2 s in qa and e2e, automatic
# promotion), every stage a GitOpsConfig of one local Git repository (folder per environment on one branch),
# reconciled by one `tack controller`. Reports:
#   - the time from a new release committed into one pipeline's qa to it running (Synced + Healthy) in prod,
#   - the time until all pipelines run a release committed into every qa at once (one commit),
#   - the controller's resident memory once every pipeline is idle.
# Needs the local control plane (`tack dev up`) and git. KEEP_LOG=FILE keeps the controller's log.
#
#   TACK_BIN=target/release/tack PIPELINES=50 scripts/bench-promotion.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TACK="${TACK_BIN:-$ROOT/target/release/tack}"
PIPELINES="${PIPELINES:-50}"; TIMEOUT="${TIMEOUT:-900}"
[ -x "$TACK" ] || { echo "no tack binary at $TACK (cargo build --release -p tack-cli, or set TACK_BIN)" >&2; exit 1; }
"$TACK" dev up >/dev/null
eval "$("$TACK" dev env)"; export KUBECONFIG
work=$(mktemp -d); run=$(date +%s); ns=bench-promotion-$run
IMAGE=registry.example/bench/web
cleanup() {
  [ -n "${ctl:-}" ] && kill "$ctl" 2>/dev/null && wait "$ctl" 2>/dev/null || true
  [ -n "${KEEP_LOG:-}" ] && cp "$work/controller.log" "$KEEP_LOG" 2>/dev/null || true
  kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  for i in $(seq 1 "$PIPELINES"); do for s in qa e2e prod; do echo "$ns-p$i-$s"; done; done |
    xargs -r kubectl delete namespace --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
commit() { git -C "$work/repo" add -A && git -C "$work/repo" -c user.name=bench -c user.email=bench@localhost commit -qm "$1"; }
# The promotions commit too: take them before editing.
pull() { git -C "$work/repo" -c user.name=bench -c user.email=bench@localhost pull -q --rebase "$work/config.git" main; }
qa_tag() { # pipeline tag
  printf 'resources:\n- ../base\nimages:\n- name: %s\n  newTag: %s\n' "$IMAGE" "$2" > "$work/repo/p$1/qa/kustomization.yaml"
}

# The configuration repository: per pipeline a base (one Deployment) and three overlays; qa runs v1.
git init -q --bare -b main "$work/config.git"
git init -q -b main "$work/repo"
for i in $(seq 1 "$PIPELINES"); do
  d="$work/repo/p$i"; mkdir -p "$d/base" "$d/qa" "$d/e2e" "$d/prod"
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: %s:v0\n' "$IMAGE" > "$d/base/deployment.yaml"
  printf 'resources:\n- deployment.yaml\n' > "$d/base/kustomization.yaml"
  for s in e2e prod; do printf 'resources:\n- ../base\n' > "$d/$s/kustomization.yaml"; done
  qa_tag "$i" v1
done
commit "config"
git -C "$work/repo" push -q "$work/config.git" main

# The applications and pipelines, applied as one set.
mkdir -p "$work/objs"
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n' "$ns" > "$work/objs/00-ns.yaml"
for i in $(seq 1 "$PIPELINES"); do
  for s in qa e2e prod; do
    cat >> "$work/objs/apps.yaml" <<EOF
---
apiVersion: gitops.tack.dev/v1alpha1
kind: GitOpsConfig
metadata: {name: p$i-$s, namespace: $ns}
spec:
  source: {repoURL: "file://$work/config.git", revision: main, path: p$i/$s}
  destination: {namespace: $ns-p$i-$s}
  syncPolicy: {interval: 5s, automated: {prune: true}, syncOptions: [CreateNamespace=true]}
EOF
  done
  cat >> "$work/objs/pipelines.yaml" <<EOF
---
apiVersion: gitops.tack.dev/v1alpha1
kind: Pipeline
metadata: {name: p$i, namespace: $ns}
spec:
  images: [{name: $IMAGE}]
  stages:
  - {name: qa, application: {name: p$i-qa}, gates: {soakTime: 2s}}
  - {name: e2e, application: {name: p$i-e2e}, autoPromote: true, gates: {soakTime: 2s}}
  - {name: prod, application: {name: p$i-prod}, autoPromote: true}
EOF
done
"$TACK" install --crds-only >/dev/null
"$TACK" sync "$work/objs" --name "$ns-objs" -n default >/dev/null 2>&1

# Every prod stage at `tag`, Synced and Healthy (prints how many).
at_prod() {
  "$TACK" -n "$ns" env list -o json | python3 -c '
import json,sys
tag=sys.argv[1]; n=0
for p in json.load(sys.stdin):
    for s in (p.get("status") or {}).get("stages", []):
        if s["name"]=="prod" and s.get("release")==tag and s.get("health")=="Healthy" and s.get("sync")=="Synced":
            n+=1
print(n)' "$1"
}
one_at_prod() {
  "$TACK" -n "$ns" env status "$1" -o json | python3 -c '
import json,sys
tag=sys.argv[1]
st=[s for s in (json.load(sys.stdin).get("status") or {}).get("stages",[]) if s["name"]=="prod"]
print(1 if st and st[0].get("release")==tag and st[0].get("health")=="Healthy" and st[0].get("sync")=="Synced" else 0)' "$2"
}
wait_for() { # what count command...
  local what=$1 want=$2; shift 2
  local deadline=$(( $(date +%s) + TIMEOUT ))
  while :; do
    got=$("$@")
    [ "$got" -ge "$want" ] && return 0
    [ "$(date +%s)" -ge "$deadline" ] && { echo "$what: only $got of $want after ${TIMEOUT}s" >&2; tail -20 "$work/controller.log" >&2; exit 1; }
    sleep 0.5
  done
}

"$TACK" controller --cache-dir "$work/cache" --metrics-addr off --log-level info >"$work/controller.log" 2>&1 &
ctl=$!
start=$(date +%s.%N)
wait_for "v1 in every prod" "$PIPELINES" at_prod v1
first=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")

# One release into one pipeline's qa.
sleep 5
pull; qa_tag 1 v2; commit "p1 qa: v2"; git -C "$work/repo" push -q "$work/config.git" main
start=$(date +%s.%N)
wait_for "v2 in p1's prod" 1 one_at_prod p1 v2
single=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")

# One commit releasing v3 into every qa.
sleep 5
pull
for i in $(seq 1 "$PIPELINES"); do qa_tag "$i" v3; done
commit "every qa: v3"; git -C "$work/repo" push -q "$work/config.git" main
start=$(date +%s.%N)
wait_for "v3 in every prod" "$PIPELINES" at_prod v3
all=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")

sleep 15   # a few idle reconciles
rss=$(awk '/VmRSS/{print int($2/1024)}' "/proc/$ctl/status"); hwm=$(awk '/VmHWM/{print int($2/1024)}' "/proc/$ctl/status")
commits=$(git -C "$work/config.git" rev-list --count main)
echo "| pipelines × stages | first release in every prod | one release qa → prod | $PIPELINES releases at once qa → prod | commits on the branch | controller RSS (MiB) | peak RSS (MiB) |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
echo "| $PIPELINES × 3 | ${first} s | ${single} s | ${all} s | $commits | $rss | $hwm |"
