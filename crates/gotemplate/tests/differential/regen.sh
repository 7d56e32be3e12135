#!/usr/bin/env bash
# Writes expected.jsonl for cases.jsonl with Go's own text/template (testenv/oracles/helm-engine
# --text-template, built with the Go toolchain Helm v4.3.2 is built with). The test never writes it.
#
# cases.jsonl: one case a line, {"tpl": TEXT, "data": JSON}; a line without "data" reuses the previous data.
# The cases are generated (printf verbs and flags over many values; random action trees; random token soups)
# and filtered of what the engine knowingly does differently (%p addresses, complex numbers, uint8).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
engine="$(bash "$root/testenv/oracles.sh" helm-engine | sed -n 's/^helm-engine=//p')"
[ -x "$engine" ] || { echo "regen: helm-engine was not built" >&2; exit 1; }
"$engine" --text-template < "$here/cases.jsonl" > "$here/expected.jsonl"
echo "regen: $(wc -l < "$here/expected.jsonl") differential cases" >&2
