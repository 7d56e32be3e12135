#!/usr/bin/env bash
# The repository is self-contained: no test, script or document reads files outside it. Fails (exit 1) and
# names the lines that point outside: the seed folder that used to sit beside the repository
# (`seed-examples`, `../shared`, `/work/shared`) or a path climbing out of a crate from CARGO_MANIFEST_DIR.
# The scenarios live in examples/ (see examples/README.md). Kustomize golden cases are skipped: their
# `../shared/` is a folder inside the case.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
self=scripts/check-self-contained.sh
pattern='seed-examples|\.\./shared|/work/shared|CARGO_MANIFEST_DIR[^;]*\.\./\.\./\.\.'
found=$(git ls-files -z --cached --others --exclude-standard \
  | grep -zv -e "^$self\$" -e '^crates/kustomize/tests/golden/' \
  | xargs -0 -r grep -InE "$pattern" -- 2>/dev/null || true)
if [ -n "$found" ]; then
  echo "these lines read outside the repository; use examples/ (or a folder inside the repository):" >&2
  echo "$found" >&2
  exit 1
fi
echo "self-contained: no test, script or document reads outside the repository"
