#!/usr/bin/env bash
# Many applications on one controller: N GitOpsConfigs × OBJECTS ConfigMaps each, all from one monorepo (a bare
# repository served as file://, one folder per application, each application into its own namespace), or spread
# over REPOS repositories (application I in repository (I-1) % REPOS + 1), reconciled by one `tack controller` on
# the local control plane. Stages:
#   1. cold start: every GitOpsConfig exists before the controller starts; time until all are Synced and Healthy;
#   2. idle: IDLE seconds with nothing changed (periodic reconciles only);
#   3. a commit touching every application (one ConfigMap each; one commit per repository), announced by a signed
#      push webhook per repository; time until all are Synced and Healthy at the new commits;
#   4. a commit touching one application, announced by the webhook; time until its ConfigMap holds the new
#      value, and how many applications were reconciled / synced for it.
# Per stage: wall time, the controller's CPU seconds (user + system, /proc/PID/stat), its peak resident memory
# during the stage (VmHWM, reset through /proc/PID/clear_refs) and at the end (VmRSS), reconciles and syncs
# (the controller's /metrics), and requests served by the API server during the stage (apiserver_request_total,
# every client: the controller is by far the busiest) per reconcile.
# Needs the local control plane (`tack dev up`; the script starts it), git, curl, openssl, kubectl and python3.
#
#   TACK_BIN=target/debug/tack N=100 scripts/bench-scale.sh        # then N=300, N=1000
#   CONCURRENCY=8 INTERVAL=10m OBJECTS=20 IDLE=30 TIMEOUT=900      # the other knobs and their defaults
#   REFRESH_PATHS=1     # annotate every application with tack.dev/refresh-paths: "." (a push refreshes only
#                       # the applications whose folder it changed)
#   BREAKDOWN=1         # also print the API requests of each stage by verb and resource
#   REPOS=50            # the applications spread over 50 repositories instead of one monorepo
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TACK="${TACK_BIN:-$ROOT/target/debug/tack}"
N="${N:-100}"; REPOS="${REPOS:-1}"; OBJECTS="${OBJECTS:-20}"; CONCURRENCY="${CONCURRENCY:-}"; INTERVAL="${INTERVAL:-10m}"
IDLE="${IDLE:-30}"; TIMEOUT="${TIMEOUT:-900}"; PORT="${PORT:-19181}"; MPORT="${MPORT:-19182}"
[ -x "$TACK" ] || { echo "no tack binary at $TACK (cargo build -p tack-cli, or set TACK_BIN)" >&2; exit 1; }
for tool in git curl openssl kubectl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
"$TACK" dev up >/dev/null
eval "$("$TACK" dev env)"; export KUBECONFIG
work=$(mktemp -d); ns=bench-scale
cleanup() {
  [ -n "${ctl:-}" ] && kill -TERM "$ctl" 2>/dev/null && wait "$ctl" 2>/dev/null || true
  kubectl delete gitopsconfigs --all -n "$ns" --wait=false >/dev/null 2>&1 || true
  kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  for i in $(seq 1 "$N"); do echo "bench-scale-$i"; done | xargs -r -n 200 kubectl delete namespace --wait=false >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# The API server's address and the admin credentials, for reads with curl.
server=$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d > "$work/ca.pem"
kubectl config view --raw --minify -o jsonpath='{.users[0].user.client-certificate-data}' | base64 -d > "$work/cert.pem"
kubectl config view --raw --minify -o jsonpath='{.users[0].user.client-key-data}' | base64 -d > "$work/key.pem"
api() { curl -s --cacert "$work/ca.pem" --cert "$work/cert.pem" --key "$work/key.pem" "$server$1"; }
api_requests() { api /metrics | awk '/^apiserver_request_total\{/{s+=$NF} END{printf "%d\n", s}'; }
# Requests by verb and resource (BREAKDOWN=1 prints the stage's busiest after each row).
api_by_kind() {
  api /metrics | python3 -c '
import re, sys, collections
c = collections.Counter()
for line in sys.stdin:
    if line.startswith("apiserver_request_total{"):
        labels = dict(re.findall(r"(\w+)=\"([^\"]*)\"", line))
        c[(labels.get("verb"), labels.get("resource"), labels.get("subresource", ""))] += float(line.split()[-1])
for k, v in c.items():
    print(" ".join(x or "-" for x in k), int(v))'
}
metric() { curl -s "http://127.0.0.1:$MPORT/metrics" | awk -v m="$1" 'index($0, m)==1{s+=$NF} END{printf "%d\n", s}'; }

# The repositories: repo-K.git, whose working copy work-K holds app-I/cm-J.yaml for K = (I-1) % REPOS + 1.
for k in $(seq 1 "$REPOS"); do
  git init -q --bare -b main "$work/repo-$k.git"
  git init -q -b main "$work/work-$k"
done
python3 - "$work" "$N" "$OBJECTS" "$REPOS" <<'EOF'
import os, sys
root, n, objects, repos = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(1, n + 1):
    d = os.path.join(root, f"work-{(i - 1) % repos + 1}", f"app-{i}")
    os.makedirs(d, exist_ok=True)
    for j in range(1, objects + 1):
        with open(os.path.join(d, f"cm-{j}.yaml"), "w") as h:
            h.write(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{j}\ndata:\n  app: \"{i}\"\n"
                    f"  index: \"{j}\"\n  generation: \"0\"\n")
EOF
# Commits and pushes repository $1 with message $2.
push() {
  git -C "$work/work-$1" add -A
  git -C "$work/work-$1" -c user.name=bench -c user.email=bench@localhost commit -qm "$2"
  git -C "$work/work-$1" push -q "$work/repo-$1.git" HEAD:refs/heads/main
}
for k in $(seq 1 "$REPOS"); do push "$k" objects; done
# Sets `generation` of cm-1 in applications FROM..TO.
touch_apps() {
  python3 - "$work" "$1" "$2" "$3" "$REPOS" <<'EOF'
import os, sys
root, first, last, gen, repos = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
for i in range(first, last + 1):
    p = os.path.join(root, f"work-{(i - 1) % repos + 1}", f"app-{i}", "cm-1.yaml")
    s = open(p).read().split("  generation:")[0]
    open(p, "w").write(s + f"  generation: \"{gen}\"\n")
EOF
}

"$TACK" install --crds-only >/dev/null
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
python3 - "$work/apps.yaml" "$N" "$ns" "file://$work" "$INTERVAL" "${REFRESH_PATHS:-}" "$REPOS" <<'EOF'
import sys
out, n, ns, base, interval = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
repos = int(sys.argv[7])
annotations = ", annotations: {tack.dev/refresh-paths: \".\"}" if sys.argv[6] else ""
with open(out, "w") as h:
    for i in range(1, n + 1):
        url = f"{base}/repo-{(i - 1) % repos + 1}.git"
        h.write(f"""---
apiVersion: gitops.tack.dev/v1alpha1
kind: GitOpsConfig
metadata: {{name: app-{i}, namespace: {ns}{annotations}}}
spec:
  source: {{repoURL: "{url}", revision: main, path: app-{i}}}
  destination: {{namespace: bench-scale-{i}}}
  syncPolicy: {{interval: {interval}, createNamespace: true, automated: {{prune: true}}}}
""")
EOF
kubectl apply --server-side -f "$work/apps.yaml" >/dev/null

secret=$(openssl rand -hex 20); printf '%s' "$secret" > "$work/secret"
extra=(); [ -n "$CONCURRENCY" ] && extra=(--concurrency "$CONCURRENCY")
start_requests=$(api_requests); [ -z "${BREAKDOWN:-}" ] || api_by_kind > "$work/kinds-start"
t_start=$(date +%s.%N)
"$TACK" controller --single-namespace -n "$ns" --cache-dir "$work/cache" --metrics-addr "127.0.0.1:$MPORT" \
  --webhook-addr "127.0.0.1:$PORT" --webhook-secret-file "$work/secret" "${extra[@]}" >"$work/controller.log" 2>&1 &
ctl=$!
hz=$(getconf CLK_TCK)

mib() { awk -v k="$1:" '$1==k{print int($2/1024)}' "/proc/$ctl/status"; }
cpu() { awk -v hz="$hz" '{printf "%.2f\n", ($14 + $15) / hz}' "/proc/$ctl/stat"; }
stage_start() {
  echo 5 > "/proc/$ctl/clear_refs"; t0=$(date +%s.%N); c0=$(cpu)
  r0=$(metric 'tack_reconcile_duration_seconds_count'); s0=$(metric 'tack_sync_total'); a0=$(api_requests)
  [ -z "${BREAKDOWN:-}" ] || api_by_kind > "$work/kinds0"
}
row() {
  local took r s a
  took=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
  r=$(( $(metric 'tack_reconcile_duration_seconds_count') - r0 )); s=$(( $(metric 'tack_sync_total') - s0 ))
  a=$(( $(api_requests) - a0 ))
  printf '| %s | %s s | %s | %s / %s | %s | %s | %s | %s |\n' "$1" "$took" \
    "$(python3 -c "print(round($(cpu) - $c0, 1))")" "$(mib VmHWM)" "$(mib VmRSS)" "$r" "$s" "$a" \
    "$(python3 -c "print(round($a / $r, 1) if $r else '-')")"
  if [ -n "${BREAKDOWN:-}" ]; then
    api_by_kind > "$work/kinds1"
    python3 - "$work/kinds0" "$work/kinds1" "$r" <<'EOF' >&2
import sys
read = lambda p: {" ".join(l.split()[:-1]): int(l.split()[-1]) for l in open(p) if l.strip()}
a, b, r = read(sys.argv[1]), read(sys.argv[2]), max(int(sys.argv[3]), 1)
d = sorted(((b[k] - a.get(k, 0), k) for k in b), reverse=True)
print("   requests by verb/resource/subresource, per reconcile:", ", ".join(f"{k} {v / r:.1f}" for v, k in d[:10] if v > 0))
EOF
  fi
}
# Waits until every application is Synced and Healthy (at one of the commits $1, space-separated, when given).
wait_all() {
  local deadline=$(( $(date +%s) + TIMEOUT )) count
  while :; do
    count=$(api "/apis/gitops.tack.dev/v1alpha1/namespaces/$ns/gitopsconfigs" | python3 -c '
import json, sys
want = set(sys.argv[1].split())
n = 0
for a in json.load(sys.stdin).get("items", []):
    s = a.get("status") or {}
    sync = s.get("sync") or {}
    if sync.get("status") == "Synced" and (s.get("health") or {}).get("status") == "Healthy" \
            and (not want or sync.get("revision") in want):
        n += 1
print(n)' "${1:-}")
    [ "$count" -ge "$N" ] && return 0
    [ "$(date +%s)" -ge "$deadline" ] && { echo "only $count of $N applications Synced+Healthy after ${TIMEOUT}s" >&2; tail -5 "$work/controller.log" >&2; exit 1; }
    sleep 1
  done
}
# Announces the last commit of repository $1.
webhook() {
  local sha body sig code
  sha=$(git -C "$work/work-$1" rev-parse HEAD)
  # The commit's changed files, as GitHub lists them (the receiver refreshes the applications they touch first).
  files=$(git -C "$work/work-$1" diff --name-only HEAD~1 HEAD | python3 -c 'import json,sys; print(json.dumps([l.strip() for l in sys.stdin if l.strip()]))')
  body=$(printf '{"ref":"refs/heads/main","after":"%s","repository":{"clone_url":"file://%s/repo-%s.git","default_branch":"main"},"commits":[{"added":[],"removed":[],"modified":%s}]}' "$sha" "$work" "$1" "$files")
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')
  code=$(curl -s -o "$work/response" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/webhook/github" \
    -H 'X-GitHub-Event: push' -H "X-Hub-Signature-256: sha256=$sig" -H 'Content-Type: application/json' --data "$body")
  [ "$code" = 202 ] || { echo "webhook answered $code: $(cat "$work/response")" >&2; exit 1; }
}

echo "tack $("$TACK" --version 2>/dev/null | head -1), N=$N × $OBJECTS ConfigMaps in $REPOS repositories, concurrency ${CONCURRENCY:-default}," \
  "interval $INTERVAL, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| stage | took | controller CPU s | peak / end RSS (MiB) | reconciles | syncs | API requests | per reconcile |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
# Stage 1 began when the controller was started: its counters start at zero.
until curl -s "http://127.0.0.1:$MPORT/metrics" >/dev/null; do sleep 0.2; done
t0=$t_start; c0=0; r0=0; s0=0; a0=$start_requests; cp "$work/kinds-start" "$work/kinds0" 2>/dev/null || true
wait_all
row "cold start: $N applications until all Synced and Healthy"

stage_start; sleep "$IDLE"
row "idle ${IDLE} s, nothing changed"

stage_start
touch_apps 1 "$N" 1
heads=""
for k in $(seq 1 "$REPOS"); do
  push "$k" "touch all"; webhook "$k"; heads="$heads $(git -C "$work/work-$k" rev-parse HEAD)"
done
wait_all "$heads"
row "commit touching all $N, webhook, until all Synced and Healthy at it"

stage_start
touch_apps 1 1 2; push 1 "touch one"
t_hook=$(date +%s.%N)
webhook 1
deadline=$(( $(date +%s) + 120 ))
until [ "$(api "/api/v1/namespaces/bench-scale-1/configmaps/cm-1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("data",{}).get("generation",""))' 2>/dev/null)" = 2 ]; do
  [ "$(date +%s)" -ge "$deadline" ] && { echo "the one-application commit was not applied within 120 s" >&2; exit 1; }
  sleep 0.05
done
t_applied=$(date +%s.%N)
row "commit touching 1 of $N, webhook, until its ConfigMap changed"
sleep 5
row "the same stage 5 s later (everything that commit caused)"
echo
echo "commit touching one: from sending the webhook to its ConfigMap changed: $(python3 -c "print(round($t_applied - $t_hook, 2))") s"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg); warnings in the controller's log: $(grep -c -E 'WARN|ERROR' "$work/controller.log" || true)"
