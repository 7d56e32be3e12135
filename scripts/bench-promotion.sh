#!/usr/bin/env bash
# Promotion at scale: PIPELINES pipelines × 3 stages (qa → e2e → prod, soak 2 s in qa and e2e, automatic
# promotion), every stage a GitOpsConfig (folder per environment on one branch), reconciled by one
# `tack controller`. REPOS=one (default): every pipeline in one repository; REPOS=each: a repository per
# pipeline. Applications look at Git every INTERVAL (default 1m); a release committed into qa is announced to
# the qa applications as a webhook would (the refresh annotation), and each promotion asks its stage's
# application to refresh by itself. Reports:
#   - the time from a new release committed into one pipeline's qa to it running (Synced + Healthy) in prod,
#   - the time until all pipelines run a release committed into every qa at once (one commit),
#   - the controller's resident memory once every pipeline is idle.
# Needs the local control plane (`tack dev up`) and git. KEEP_LOG=FILE keeps the controller's log.
#
#   TACK_BIN=target/release/tack PIPELINES=50 scripts/bench-promotion.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TACK="${TACK_BIN:-$ROOT/target/release/tack}"
PIPELINES="${PIPELINES:-50}"; TIMEOUT="${TIMEOUT:-900}"; REPOS="${REPOS:-one}"; INTERVAL="${INTERVAL:-1m}"
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
# The working clone and the bare repository of pipeline $1.
repo_of() { if [ "$REPOS" = each ]; then echo "$work/repo-$1"; else echo "$work/repo"; fi; }
bare_of() { if [ "$REPOS" = each ]; then echo "$work/config-$1.git"; else echo "$work/config.git"; fi; }
repos() { if [ "$REPOS" = each ]; then seq 1 "$PIPELINES"; else echo 1; fi; }
commit() { # pipeline message
  local r; r=$(repo_of "$1")
  git -C "$r" add -A && git -C "$r" -c user.name=bench -c user.email=bench@localhost commit -qm "$2"
  git -C "$r" push -q "$(bare_of "$1")" main
}
# The promotions commit too: take them before editing.
pull() { git -C "$(repo_of "$1")" -c user.name=bench -c user.email=bench@localhost pull -q --rebase "$(bare_of "$1")" main; }
# What a push webhook does: the qa applications of pipelines $@ refresh now.
announce() { for i in "$@"; do echo "p$i-qa"; done | xargs kubectl -n "$ns" annotate --overwrite gitopsconfig "tack.dev/refresh=$(date +%s.%N)" >/dev/null; }
qa_tag() { # pipeline tag
  printf 'resources:\n- ../base\nimages:\n- name: %s\n  newTag: %s\n' "$IMAGE" "$2" > "$(repo_of "$1")/p$1/qa/kustomization.yaml"
}

# The configuration repository: per pipeline a base (one Deployment) and three overlays; qa runs v1.
for r in $(repos); do git init -q --bare -b main "$(bare_of "$r")"; git init -q -b main "$(repo_of "$r")"; done
for i in $(seq 1 "$PIPELINES"); do
  d="$(repo_of "$i")/p$i"; mkdir -p "$d/base" "$d/qa" "$d/e2e" "$d/prod"
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: %s:v0\n' "$IMAGE" > "$d/base/deployment.yaml"
  printf 'resources:\n- deployment.yaml\n' > "$d/base/kustomization.yaml"
  for s in e2e prod; do printf 'resources:\n- ../base\n' > "$d/$s/kustomization.yaml"; done
  qa_tag "$i" v1
done
for r in $(repos); do commit "$r" "config"; done

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
  source: {repoURL: "file://$(bare_of "$i")", revision: main, path: p$i/$s}
  destination: {namespace: $ns-p$i-$s}
  syncPolicy: {interval: $INTERVAL, automated: {prune: true}, syncOptions: [CreateNamespace=true]}
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
# The controller's resident and peak memory (MiB) and the load average now.
memory() {
  echo "controller RSS $(awk '/VmRSS/{print int($2/1024)}' "/proc/$ctl/status") MiB, peak $(awk '/VmHWM/{print int($2/1024)}' "/proc/$ctl/status") MiB; load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
wait_for() { # what count command...
  local what=$1 want=$2; shift 2
  local deadline=$(( $(date +%s) + TIMEOUT ))
  while :; do
    got=$("$@")
    [ "$got" -ge "$want" ] && return 0
    [ "$(date +%s)" -ge "$deadline" ] && { echo "$what: only $got of $want after ${TIMEOUT}s" >&2; memory >&2; tail -20 "$work/controller.log" >&2; exit 1; }
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
pull 1; qa_tag 1 v2; commit 1 "p1 qa: v2"; announce 1
start=$(date +%s.%N)
wait_for "v2 in p1's prod" 1 one_at_prod p1 v2
single=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")

# One commit releasing v3 into every qa.
sleep 5
for r in $(repos); do pull "$r"; done
for i in $(seq 1 "$PIPELINES"); do qa_tag "$i" v3; done
for r in $(repos); do commit "$r" "qa: v3"; done
announce $(seq 1 "$PIPELINES")
start=$(date +%s.%N)
wait_for "v3 in every prod" "$PIPELINES" at_prod v3
all=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")

sleep 15   # a few idle reconciles
rss=$(awk '/VmRSS/{print int($2/1024)}' "/proc/$ctl/status"); hwm=$(awk '/VmHWM/{print int($2/1024)}' "/proc/$ctl/status")
commits=0; for r in $(repos); do commits=$(( commits + $(git -C "$(bare_of "$r")" rev-list --count main) )); done
echo "| pipelines × stages | repositories | first release in every prod | one release qa → prod | every pipeline released at once | commits | controller RSS (MiB) | peak RSS (MiB) |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
echo "| $PIPELINES × 3 | $REPOS | ${first} s | ${single} s | ${all} s | $commits | $rss | $hwm |"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
