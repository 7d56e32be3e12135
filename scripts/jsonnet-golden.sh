#!/usr/bin/env bash
# Regenerates the golden expectations of crates/jsonnet with go-jsonnet (the reference, built by
# testenv/oracles.sh at the version of testenv/oracles.env).
#
#   scripts/jsonnet-golden.sh [CASE...]     # default: every case
#
# Cases: crates/jsonnet/tests/golden/cases/NAME.jsonnet, run as `jsonnet $(cat NAME.args) NAME.jsonnet` in that
# directory; crates/jsonnet/tests/golden/apps/APP/ with a `runs` file, one run a line: `NAME ARGS...` (separated by
# single spaces; a tab stands for a space inside an argument, Jsonnet reads it as one), run in the
# application's directory. Expectations : tests/golden/expected/[apps/]NAME.{stdout,stderr,code}. An argument
# `@OUT@` is a fresh output directory (for -m); its path reads `@OUT@` in the expectation, followed by the files
# written there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jsonnet=$("$root/testenv/oracles.sh" jsonnet | sed -n 's/^jsonnet=//p')
golden="$root/crates/jsonnet/tests/golden"
mkdir -p "$golden/expected/apps"
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

# run_case DIR EXPECTED_BASE ARGS...: runs go-jsonnet in DIR and records stdout, stderr and the exit code.
run_case() {
  local dir=$1 base=$2; shift 2
  local args=() a o="$out/$(basename "$base")"
  rm -rf "$o"; mkdir -p "$o"
  for a in "$@"; do args+=("${a//@OUT@/$o}"); done
  local code=0
  (cd "$dir" && "$jsonnet" "${args[@]}" >"$base.stdout.tmp" 2>"$base.stderr") || code=$?
  sed "s#$o#@OUT@#g" "$base.stdout.tmp" > "$base.stdout"; rm -f "$base.stdout.tmp"
  if grep -qx -- '-m\|--multi' <(printf '%s\n' "$@"); then
    (cd "$o" && find . -type f | LC_ALL=C sort | while read -r f; do printf '== %s\n' "${f#./}"; cat "$f"; done) >> "$base.stdout"
  fi
  echo "$code" > "$base.code"
}

want=("$@"); n=0
for f in "$golden"/cases/*.jsonnet; do
  name=$(basename "$f" .jsonnet)
  [ ${#want[@]} -eq 0 ] || [[ " ${want[*]} " == *" $name "* ]] || continue
  args=(); [ -f "${f%.jsonnet}.args" ] && mapfile -t args < "${f%.jsonnet}.args"
  run_case "$golden/cases" "$golden/expected/$name" "${args[@]}" "$name.jsonnet"; n=$((n + 1))
done
for app in "$golden"/apps/*/; do
  app=${app%/}; [ -f "$app/runs" ] || continue
  while IFS=" " read -r run rest; do
    [ -n "$run" ] || continue
    [ ${#want[@]} -eq 0 ] || [[ " ${want[*]} " == *" $(basename "$app").$run "* ]] || continue
    IFS=" " read -ra args <<< "$rest"
    run_case "$app" "$golden/expected/apps/$(basename "$app").$run" "${args[@]}"; n=$((n + 1))
  done < "$app/runs"
done
echo "jsonnet-golden: $n expectations written by $("$jsonnet" --version)" >&2
