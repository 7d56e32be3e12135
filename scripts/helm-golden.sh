#!/usr/bin/env bash
# Regenerates the expectations of the Helm golden corpus with the reference helm (v4.3.2, built by
# testenv/oracles.sh):
#
#   scripts/helm-golden.sh [CASE...]     # default: every case under crates/helm/tests/golden
#
# A case is a folder crates/helm/tests/golden/<case>/ with a case.yaml:
#
#   args: [my-release, ../../charts/webapp, -f, values-prod.yaml, --set, image.tag=2]
#
# `args` are the arguments of `helm template`, run in the case folder (paths are relative to it). helm's
# standard output is written to expected.out; when helm fails, its standard error goes to expected.err and
# its exit status to expected.status (absolute paths of the case folder are made relative). helm runs without a kubeconfig (namespace `default`) and with empty
# cache and configuration folders.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="$root/crates/helm/tests/golden"
helm="$(bash "$root/testenv/oracles.sh" helm | sed -n 's/^helm=//p')"
[ -x "$helm" ] || { echo "helm-golden: no helm binary" >&2; exit 2; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
: > "$scratch/kubeconfig"

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  while IFS= read -r f; do cases+=("$(basename "$(dirname "$f")")"); done \
    < <(find "$corpus" -mindepth 2 -maxdepth 2 -name case.yaml | sort)
fi

n=0; failing=0
for c in "${cases[@]}"; do
  dir="$corpus/$c"
  [ -f "$dir/case.yaml" ] || { echo "helm-golden: $c has no case.yaml" >&2; exit 2; }
  mapfile -t args < <(python3 -c 'import sys, yaml
for a in (yaml.safe_load(open(sys.argv[1])) or {}).get("args", []): print(a)' "$dir/case.yaml")
  rm -f "$dir/expected.out" "$dir/expected.err" "$dir/expected.status"
  set +e
  (cd "$dir" && env -i PATH="$PATH" HOME="$scratch" KUBECONFIG="$scratch/kubeconfig" \
      HELM_CACHE_HOME="$scratch/cache" HELM_CONFIG_HOME="$scratch/config" HELM_DATA_HOME="$scratch/data" \
      "$helm" template "${args[@]}" >"$scratch/out" 2>"$scratch/err")
  status=$?
  set -e
  if [ $status -eq 0 ]; then
    cp "$scratch/out" "$dir/expected.out"
  else
    # helm names files by absolute path in some messages: keep them relative to the case folder.
    sed "s|$dir/||g" "$scratch/err" > "$dir/expected.err"
    echo "$status" > "$dir/expected.status"
    failing=$((failing + 1))
  fi
  n=$((n + 1))
done
echo "helm-golden: $n cases ($failing expected to fail)"
