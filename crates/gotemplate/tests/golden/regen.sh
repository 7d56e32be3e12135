#!/usr/bin/env bash
# Writes expected.json next to each golden case (crates/gotemplate/tests/golden/<case>/) with Helm v4.3.2's own
# template engine (testenv/oracles/helm-engine, built by testenv/oracles.sh). The test never writes these.
#
#   crates/gotemplate/tests/golden/regen.sh [CASE...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
engine="$(bash "$root/testenv/oracles.sh" helm-engine | sed -n 's/^helm-engine=//p')"
[ -x "$engine" ] || { echo "regen: helm-engine was not built" >&2; exit 1; }
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  for d in "$here"/*/; do cases+=("$(basename "$d")"); done
fi
for c in "${cases[@]}"; do
  d="$here/$c"
  [ -f "$d/Chart.yaml" ] || { echo "regen: $c is not a case" >&2; exit 1; }
  "$engine" "$d" > "$d/expected.json"
done
echo "regen: ${#cases[@]} cases" >&2
