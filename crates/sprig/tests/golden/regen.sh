#!/usr/bin/env bash
# Regenerates expected.json for every golden case from the reference: Helm v4.3.2's template engine
# (testenv/oracles/helm-engine), with TZ=UTC so that dates are read and printed in UTC.
#
#   crates/sprig/tests/golden/regen.sh [CASE...]
#
# A case is a chart folder (Chart.yaml, values.yaml in JSON form, templates/t.yaml), written from cases.py
# by make-cases.py (which rewrites every folder: run this script for all cases afterwards). A case with a
# shape.txt has output that is not reproducible (clock, randomness): shape.txt holds a regular expression
# the whole output must match, and this script checks that Helm's own output matches it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
engine="$(bash "$repo/testenv/oracles.sh" helm-engine | sed -n 's/^helm-engine=//p')"
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  for d in "$here"/*/; do cases+=("$(basename "$d")"); done
fi
for c in "${cases[@]}"; do
  dir="$here/$c"
  TZ=UTC "$engine" "$dir" > "$dir/expected.json"
  if [ -f "$dir/shape.txt" ]; then
    python3 - "$dir" <<'PY'
import json, re, sys
d = sys.argv[1]
out = json.load(open(d + "/expected.json"))
text = out.get("templates/t.yaml")
pattern = open(d + "/shape.txt").read().rstrip("\n")
if text is None or not re.fullmatch(pattern, text):
    sys.exit(f"{d}: helm's output {out!r} does not match shape.txt")
PY
  fi
done
echo "regenerated ${#cases[@]} cases" >&2
