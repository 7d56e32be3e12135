#!/usr/bin/env bash
# Regenerates the expectations of the Kustomize `helmCharts` golden cases (crates/render/tests/kustomize-helm/)
# with the reference tools: `kubectl kustomize --enable-helm` (Kustomize v5.5.0) running the reference helm
# v4.3.2 (testenv/oracles.sh helm). Expectations are only ever produced here.
#
# Usage: scripts/kustomize-helm-golden.sh [CASE...]
#
# Each case directory holds a kustomization (and its values files); it is copied to a scratch directory with
# the chart `chart/app` placed under its chart home (`charts/`, or the path in the case's `chart-home` file),
# and built there. Success -> expected.yaml (stdout); failure -> expected.err (stderr, klog header removed).
#
# Kustomize v5.5.0 checks helm's version with `helm version -c --short` and accepts only v3; helm v4 has no
# `-c`. A wrapper answers that one question with a v3-looking version and runs the reference helm v4.3.2 for
# everything else (`helm template ...`), so every rendered byte comes from helm v4.3.2.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/crates/render/tests/kustomize-helm"
KUBECTL="${KUBECTL:-kubectl}"
export LC_ALL=C TZ=UTC
HELM_REAL="$(bash "$ROOT/testenv/oracles.sh" helm | cut -d= -f2)"
export HELM_REAL
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cat > "$work/helm" <<'WRAP'
#!/usr/bin/env bash
if [ "${1:-}" = version ]; then echo "v3.99.0+helm-v4.3.2"; exit 0; fi
exec "$HELM_REAL" "$@"
WRAP
chmod +x "$work/helm"
echo "kubectl: $("$KUBECTL" version --client 2>/dev/null | tr '\n' ' ')"
echo "helm: $("$HELM_REAL" version --short)"
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  for d in "$HERE"/cases/*/; do cases+=("$(basename "$d")"); done
fi
for c in "${cases[@]}"; do
  src="$HERE/cases/$c"
  dir="$work/build/$c"
  rm -rf "$dir"; mkdir -p "$dir"
  cp -r "$src"/. "$dir"/
  rm -f "$dir"/expected.yaml "$dir"/expected.err
  home="charts"; [ -f "$src/chart-home" ] && home="$(cat "$src/chart-home")"
  mkdir -p "$dir/$home"; cp -r "$HERE/chart/app" "$dir/$home/app"
  rm -f "$src"/expected.yaml "$src"/expected.err
  if "$KUBECTL" kustomize --enable-helm --helm-command "$work/helm" "$dir" >"$work/out" 2>"$work/err"; then
    mv "$work/out" "$src/expected.yaml"; echo "ok    $c"
  else
    sed -E -e 's/^[IWEF][0-9]{4} [0-9:.]+ +[0-9]+ [^]]+\] //' -e "s#$dir#<case>#g" "$work/err" >"$src/expected.err"
    echo "error $c"
  fi
done
