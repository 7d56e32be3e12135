#!/usr/bin/env bash
# Controller memory at scale: APPS applications × OBJECTS objects each, all from one local Git repository,
# reconciled by one `tack controller`; reports the controller's resident memory once every application is
# Synced and Healthy, and how long that took. Needs the local control plane (`tack dev up`) and git.
#
#   TACK_BIN=target/release/tack APPS=100 OBJECTS=20 scripts/bench-controller.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TACK="${TACK_BIN:-$ROOT/target/release/tack}"
APPS="${APPS:-100}"; OBJECTS="${OBJECTS:-20}"; TIMEOUT="${TIMEOUT:-600}"
[ -x "$TACK" ] || { echo "no tack binary at $TACK (cargo build --release -p tack-cli, or set TACK_BIN)" >&2; exit 1; }
"$TACK" dev up >/dev/null
eval "$("$TACK" dev env)"; export KUBECONFIG
work=$(mktemp -d); ns=bench-controller
cleanup() {
  [ -n "${ctl:-}" ] && kill "$ctl" 2>/dev/null && wait "$ctl" 2>/dev/null || true
  for i in $(seq 1 "$APPS"); do echo "bench-app-$i"; done | xargs -r -n 20 sh -c 'for a; do "$0" app delete "$a" -n '"$ns"' >/dev/null 2>&1 || true; done' "$TACK"
  rm -rf "$work"
}
trap cleanup EXIT

# One repository, one folder per application (OBJECTS ConfigMaps each).
git init -q -b main "$work/repo"
for i in $(seq 1 "$APPS"); do
  d="$work/repo/app-$i"; mkdir -p "$d"
  for j in $(seq 1 "$OBJECTS"); do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%s\ndata:\n  app: "%s"\n  index: "%s"\n' "$j" "$i" "$j" > "$d/cm-$j.yaml"
  done
done
git -C "$work/repo" add -A && git -C "$work/repo" -c user.name=bench -c user.email=bench@localhost commit -qm objects

"$TACK" install >/dev/null
mkdir -p "$work/ns"
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n' "$ns" > "$work/ns/ns.yaml"
"$TACK" sync "$work/ns" --name bench-controller-ns -n default >/dev/null

"$TACK" controller --cache-dir "$work/cache" >"$work/controller.log" 2>&1 &
ctl=$!
start=$(date +%s.%N)
for i in $(seq 1 "$APPS"); do
  "$TACK" -n "$ns" app create "bench-app-$i" --repo "file://$work/repo" --path "app-$i" \
    --dest-namespace "bench-$i" --create-namespace --prune >/dev/null
done
deadline=$(( $(date +%s) + TIMEOUT ))
while :; do
  done_count=$("$TACK" -n "$ns" app list -o json | python3 -c '
import json,sys
items=json.load(sys.stdin)
items=items.get("items",items) if isinstance(items,dict) else items
print(sum(1 for a in items if (a.get("status") or {}).get("sync",{}).get("status")=="Synced" and (a.get("status") or {}).get("health",{}).get("status")=="Healthy"))')
  [ "$done_count" -ge "$APPS" ] && break
  [ "$(date +%s)" -ge "$deadline" ] && { echo "only $done_count of $APPS applications Synced+Healthy after ${TIMEOUT}s" >&2; exit 1; }
  sleep 2
done
elapsed=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
sleep 10   # a few idle reconciles
rss=$(awk '/VmRSS/{print int($2/1024)}' "/proc/$ctl/status"); hwm=$(awk '/VmHWM/{print int($2/1024)}' "/proc/$ctl/status")
echo "| applications | objects each | all Synced+Healthy after | controller RSS (MiB) | controller peak RSS (MiB) |"
echo "|---:|---:|---:|---:|---:|"
echo "| $APPS | $OBJECTS | ${elapsed} s | $rss | $hwm |"
