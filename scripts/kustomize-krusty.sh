#!/usr/bin/env bash
# Compares `tack render` with `kubectl kustomize` on Kustomize's own test cases: the kustomization trees that
# the `api/krusty` tests of sigs.k8s.io/kustomize/api v0.18.0 (the Kustomize v5.5.0 inside kubectl) write
# with WriteK/WriteF/WriteC, extracted from the Go module (downloaded from the Go module proxy) by
# scripts/kustomize-krusty/main.go. Each extracted case is built by both tools; the outputs are compared byte
# for byte, and a case failing in one tool only is a difference too. Tests that need plugins, Helm or
# symbolic links, and table-driven ones, are not extracted.
#
#   scripts/kustomize-krusty.sh [TACK]      # TACK: a tack binary (default: target/debug/tack)
#
# Prints one line per case that is not identical and a summary; exit 1 when any case differs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tack="${1:-${CARGO_TARGET_DIR:-$root/target}/debug/tack}"
version=v0.18.0
module_dir="$(cd "$root/scripts/kustomize-krusty" && go mod download -json "sigs.k8s.io/kustomize/api@$version" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$module_dir/krusty" ] || { echo "error: cannot download sigs.k8s.io/kustomize/api@$version" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$root/scripts/kustomize-krusty" && go run . "$module_dir/krusty" "$work/cases") >&2
same=0; differ=0; both=0; kubectl_only=0; tack_only=0
for c in "$work"/cases/*/; do
  name="$(basename "$c")"
  dir="$c/tree/$(cat "$c/run")"
  set +e
  k="$(kubectl kustomize "$dir" 2>/dev/null)"; kr=$?
  t="$(timeout 60 "$tack" render "$dir" 2>/dev/null)"; tr=$?
  set -e
  if [ $kr -ne 0 ] && [ $tr -ne 0 ]; then both=$((both + 1))
  elif [ $kr -ne 0 ]; then kubectl_only=$((kubectl_only + 1)); echo "kubectl fails, tack renders: $name"
  elif [ $tr -ne 0 ]; then tack_only=$((tack_only + 1)); echo "tack fails, kubectl renders: $name"
  elif [ "$k" == "$t" ]; then same=$((same + 1))
  else differ=$((differ + 1)); echo "different output: $name"; fi
done
echo "identical $same, different $differ, both fail $both, only kubectl fails $kubectl_only, only tack fails $tack_only"
[ $((differ + kubectl_only + tack_only)) -eq 0 ]
