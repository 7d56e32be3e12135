#!/usr/bin/env bash
# Controller memory of one large application: N ConfigMaps (100 per file) from a local Git repository, synced
# by one `tack controller`; then a commit that changes 10 of them; then `tack app delete`. At each stage it
# prints the controller's resident memory now (VmRSS) and its peak during the stage (VmHWM, reset between
# stages through /proc/PID/clear_refs), the same for its anonymous memory alone (RssAnon, sampled every 0.2 s:
# the heap, without the pages of the binary's code, which a debug build has many of), and how long the stage
# took; then creates and deletes the application once
# more (memory kept after a delete must be reused, not grow). Needs the local control plane
# (`tack dev up`), git, python3 and kubectl (to delete the namespace afterwards).
#
# MODE=auto (default): automated with prune; idle reconciles compare (no self-heal), a commit is synced by the
# next poll. MODE=manual: `--manual`, synced by `tack app sync` (as an operator does); idle reconciles and the
# commit are compared only (OutOfSync), then `tack app sync` applies the commit.
#
#   TACK_BIN=target/release/tack N=20000 scripts/bench-large-app.sh      # N=100000 works too (slower)
#   TACK_BIN=target/release/tack N=100000 MODE=manual scripts/bench-large-app.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TACK="${TACK_BIN:-$ROOT/target/release/tack}"
N="${N:-20000}"; TIMEOUT="${TIMEOUT:-1800}"; IDLE="${IDLE:-40}"; MODE="${MODE:-auto}"
case "$MODE" in auto) policy=(--prune) ;; manual) policy=(--manual) ;; *) echo "MODE is auto or manual" >&2; exit 1 ;; esac
[ -x "$TACK" ] || { echo "no tack binary at $TACK (cargo build --release -p tack-cli, or set TACK_BIN)" >&2; exit 1; }
"$TACK" dev up >/dev/null
eval "$("$TACK" dev env)"; export KUBECONFIG
# NAME: the application and its destination namespace; the application lives in NAME-apps, and the controller
# watches that namespace only (--single-namespace), so two runs with two names can share the control plane.
work=$(mktemp -d); app="${NAME:-bench-large}"; dest="$app"; ns="$app-apps"
cleanup() {
  "$TACK" -n "$ns" app delete "$app" >/dev/null 2>&1 || true
  [ -n "${ctl:-}" ] && kill "$ctl" 2>/dev/null && wait "$ctl" 2>/dev/null || true
  "${KUBECTL:-kubectl}" delete namespace "$dest" "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The repository: N ConfigMaps, 100 per file.
git init -q -b main "$work/repo"
python3 - "$work/repo/app" "$N" <<'EOF'
import os, sys
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
for f in range(0, n, 100):
    with open(os.path.join(out, f"cm-{f // 100:05d}.yaml"), "w") as h:
        for i in range(f, min(f + 100, n)):
            h.write(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n"
                    f"data:\n  index: \"{i}\"\n  value: \"first\"\n")
EOF
commit() { git -C "$work/repo" add -A && git -C "$work/repo" -c user.name=bench -c user.email=bench@localhost commit -qm "$1"; }
commit objects

"$TACK" install >/dev/null
"${KUBECTL:-kubectl}" create namespace "$ns" >/dev/null
"$TACK" -n "$ns" controller --single-namespace --cache-dir "$work/cache" --metrics-addr off >"$work/controller.log" 2>&1 &
ctl=$!
sleep 3

mib() { awk -v k="$1:" '$1==k{print int($2/1024)}' "/proc/$ctl/status"; }
load() { cut -d' ' -f1 /proc/loadavg; }
# RssAnon has no high-water mark: sampled every 0.2 s into $work/anon (emptied at each stage).
( while kill -0 "$ctl" 2>/dev/null; do mib RssAnon >> "$work/anon" 2>/dev/null; sleep 0.2; done ) &
stage_start() { echo 5 > "/proc/$ctl/clear_refs"; : > "$work/anon"; t0=$(date +%s.%N); }
row() {
  local anon_peak; anon_peak=$( (cat "$work/anon"; mib RssAnon) | sort -n | tail -1)
  printf '| %s | %s s | %s | %s | %s | %s | %s |\n' "$1" "$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")" \
    "$(mib VmHWM)" "$(mib VmRSS)" "$anon_peak" "$(mib RssAnon)" "$(load)"
}
# Waits until the application's status says `revision` with sync status $2 (default Synced, then also Healthy).
wait_synced() {
  local deadline=$(( $(date +%s) + TIMEOUT ))
  until "$TACK" -n "$ns" app get "$app" -o json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin).get("status") or {}
want = sys.argv[2]
ok = (s.get("sync") or {}).get("status") == want and (s.get("sync") or {}).get("revision") == sys.argv[1] \
    and (want != "Synced" or (s.get("health") or {}).get("status") == "Healthy")
sys.exit(0 if ok else 1)' "$1" "${2:-Synced}"; do
    [ "$(date +%s)" -ge "$deadline" ] && { echo "not ${2:-Synced} at $1 after ${TIMEOUT}s" >&2; tail -5 "$work/controller.log" >&2; exit 1; }
    sleep 2
  done
}
# Creates the application; a manual one is then synced once with `tack app sync`.
create_synced() {
  "$TACK" -n "$ns" app create "$app" --repo "file://$work/repo" --path app "${policy[@]}" --interval 30s \
    --dest-namespace "$dest" --create-namespace >/dev/null
  [ "$MODE" = manual ] && "$TACK" -n "$ns" app sync "$app" >/dev/null
  wait_synced "$(git -C "$work/repo" rev-parse HEAD)"
}

echo "| stage ($N ConfigMaps, $MODE) | took | peak RSS during the stage (MiB) | RSS after it | peak RssAnon | RssAnon after | load |"
echo "|---|---:|---:|---:|---:|---:|---:|"
stage_start; row "controller started, no application"

stage_start
create_synced
row "first sync: create every object, Synced and Healthy"

stage_start; sleep "$IDLE"
row "idle: periodic reconciles (interval 30s), nothing changed"

stage_start
python3 - "$work/repo/app/cm-00000.yaml" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
open(p, "w").write(s.replace('value: "first"', 'value: "second"', 10))
EOF
commit "10 objects changed"
if [ "$MODE" = manual ]; then
  wait_synced "$(git -C "$work/repo" rev-parse HEAD)" OutOfSync
  row "commit changing 10 objects, compared by the next poll (30 s): OutOfSync"
  stage_start
  "$TACK" -n "$ns" app sync "$app" >/dev/null
  wait_synced "$(git -C "$work/repo" rev-parse HEAD)"
  row "\`tack app sync\`: the 10 objects applied, Synced"
else
  wait_synced "$(git -C "$work/repo" rev-parse HEAD)"
  row "commit changing 10 objects, found by the next poll (30 s) and synced"
fi

stage_start
"$TACK" -n "$ns" app delete "$app" >/dev/null
sleep "$IDLE"
row "\`tack app delete\`, then ${IDLE} s idle"

# Once more: memory kept after a delete is reused, not added to (no leak per application).
stage_start
create_synced
row "created again (objects exist, adopted unchanged), Synced and Healthy"

stage_start
"$TACK" -n "$ns" app delete "$app" >/dev/null
sleep "$IDLE"
row "\`tack app delete\` again, then ${IDLE} s idle"
