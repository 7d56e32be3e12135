#!/usr/bin/env bash
# Regenerates the expectations of tack's Kustomize golden corpus with the reference tool,
# `kubectl kustomize` (Kustomize v5.5.0). Expectations are only ever produced here, by kubectl.
#
# Usage: scripts/kustomize-golden.sh [CASE...]
#   With no argument every case under crates/kustomize/tests/golden/cases/ is regenerated;
#   otherwise only the named cases (directory names, or paths to case directories).
#
# For each case <case>/:
#   * the build directory is <case>/input, or <case>/<dir> when <case>/case.yaml has `dir: input/...`;
#   * extra flags come from `args: [...]` in case.yaml (a flow list on one line);
#   * success  -> stdout to expected.yaml; stderr (kubectl's deprecation warnings), if any, to
#                 expected.warn; expected.err is removed;
#   * failure  -> stderr to expected.err; expected.yaml and expected.warn are removed.
# Captured stderr is normalised so that it does not depend on the checkout or the clock:
#   * klog's header ("E1122 19:37:54.273478    4472 run.go:72] ") is removed;
#   * the absolute path of the case directory is replaced by the literal `<case>`;
#   * Go heap pointers printed in some messages (`0xc000ad3900`) become `0xADDR`.
# See crates/kustomize/tests/golden/README.md for the case.yaml format.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CASES="$ROOT/crates/kustomize/tests/golden/cases"
KUBECTL="${KUBECTL:-kubectl}"

export LC_ALL=C TZ=UTC

if ! command -v "$KUBECTL" >/dev/null 2>&1; then
  echo "error: $KUBECTL not found" >&2
  exit 2
fi

echo "kubectl: $("$KUBECTL" version --client 2>/dev/null | tr '\n' ' ')"

# Reads a top-level scalar key from case.yaml (`key: value`, optional quotes, no comments after).
case_scalar() { # file key
  sed -n "s/^$2:[[:space:]]*//p" "$1" | head -n1 | sed -e 's/[[:space:]]*$//' -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}

# Reads `args: [a, b, "c d"]` into the array ARGS (elements separated by commas; quotes stripped).
case_args() { # file
  ARGS=()
  local raw
  raw="$(case_scalar "$1" args)"
  [ -z "$raw" ] && return 0
  raw="${raw#[}"
  raw="${raw%]}"
  local IFS=','
  local parts=()
  read -r -a parts <<<"$raw"
  local p
  for p in "${parts[@]}"; do
    p="$(echo "$p" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/")"
    [ -n "$p" ] && ARGS+=("$p")
  done
  return 0
}

normalise_stderr() { # case_dir < in > out
  sed -E -e 's/^[IWEF][0-9]{4} [0-9:.]+ +[0-9]+ [^]]+\] //' -e "s#$1#<case>#g" -e 's/0xc0[0-9a-f]{6,}/0xADDR/g'
}

run_case() { # case_dir
  local c="$1" name dir
  name="$(basename "$c")"
  dir="input"
  ARGS=()
  if [ -f "$c/case.yaml" ]; then
    local d
    d="$(case_scalar "$c/case.yaml" dir)"
    [ -n "$d" ] && dir="$d"
    case_args "$c/case.yaml"
  fi
  if [ ! -d "$c/$dir" ]; then
    echo "FAIL  $name: build directory $dir missing" >&2
    return 1
  fi
  local out err rc=0
  out="$(mktemp)"
  err="$(mktemp)"
  (cd "$c" && "$KUBECTL" kustomize "$dir" ${ARGS[@]+"${ARGS[@]}"}) >"$out" 2>"$err" || rc=$?
  if [ "$rc" -eq 0 ]; then
    mv "$out" "$c/expected.yaml"
    rm -f "$c/expected.err"
    if [ -s "$err" ]; then
      normalise_stderr "$c" <"$err" >"$c/expected.warn"
    else
      rm -f "$c/expected.warn"
    fi
    printf 'ok    %s\n' "$name"
  else
    normalise_stderr "$c" <"$err" >"$c/expected.err"
    rm -f "$c/expected.yaml" "$c/expected.warn" "$out"
    printf 'err   %s\n' "$name"
  fi
  rm -f "$err"
}

shopt -s nullglob
targets=()
if [ "$#" -eq 0 ]; then
  for c in "$CASES"/*/; do
    targets+=("${c%/}")
  done
else
  for a in "$@"; do
    if [ -d "$a" ]; then
      targets+=("$(cd "$a" && pwd)")
    elif [ -d "$CASES/$a" ]; then
      targets+=("$CASES/$a")
    else
      echo "error: no such case: $a" >&2
      exit 2
    fi
  done
fi

fails=0
ok=0
errs=0
for c in "${targets[@]}"; do
  if run_case "$c"; then
    if [ -f "$c/expected.err" ]; then errs=$((errs + 1)); else ok=$((ok + 1)); fi
  else
    fails=$((fails + 1))
  fi
done
echo "cases: $((ok + errs)) (success $ok, error $errs), broken: $fails"
[ "$fails" -eq 0 ]
