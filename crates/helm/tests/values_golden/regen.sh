#!/usr/bin/env bash
# Regenerates the `expected` file of every values golden case with the reference helm (v4.3.2, built by
# testenv/oracles.sh). Run from anywhere:  crates/helm/tests/values_golden/regen.sh [CASE...]
#
# A case is a directory with a file `op` naming what is checked:
#   toYaml | toYamlPretty | toJson | fromYamlArray   input.yaml is read by fromYaml (fromYamlArray) in a template,
#                                                    and printed with toYaml / toYamlPretty / toJson
#   fromJson | fromJsonArray                         input.json is read by fromJson (fromJsonArray), printed with toJson
#   toToml                                           input.yaml read by fromYaml, printed with toToml
#   fromToml                                         input.toml read by fromToml, printed with toJson
#   values                                           `helm template chart ARGS...` (args: one argument a line; the
#                                                    chart is chart/ or a chart with no values); the root template
#                                                    prints {{ toJson .Values }}
# `warnings` (values cases) holds the warnings Helm logged while coalescing, one a line.
# `expected` holds the template's output byte for byte (the function cases run through Helm's engine,
# testenv/oracles/helm-engine, so nothing is re-parsed or trimmed), or `ERROR: message` when helm fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
eval "$(bash "$repo/testenv/oracles.sh" helm helm-engine | sed 's/^helm=/HELM=/; s/^helm-engine=/ENGINE=/')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

template_for() {
  case "$1" in
    toYaml) echo '{{ .Files.Get "input.yaml" | fromYaml | toYaml }}' ;;
    toYamlPretty) echo '{{ .Files.Get "input.yaml" | fromYaml | toYamlPretty }}' ;;
    toJson) echo '{{ .Files.Get "input.yaml" | fromYaml | toJson }}' ;;
    fromYamlArray) echo '{{ .Files.Get "input.yaml" | fromYamlArray | toJson }}' ;;
    fromJson) echo '{{ .Files.Get "input.json" | fromJson | toJson }}' ;;
    fromJsonArray) echo '{{ .Files.Get "input.json" | fromJsonArray | toJson }}' ;;
    toToml) echo '{{ .Files.Get "input.yaml" | fromYaml | toToml }}' ;;
    fromToml) echo '{{ .Files.Get "input.toml" | fromToml | toJson }}' ;;
    values) echo '{{ toJson .Values }}' ;;
    *) echo "unknown op $1" >&2; exit 2 ;;
  esac
}

# helm template's output without the "---" and "# Source:" lines, or ERROR: message.
run_helm() {
  local chart=$1; shift
  local out err
  if out="$(cd "$case_dir" && "$HELM" template "$chart" "$@" 2>"$work/stderr")"; then
    printf '%s\n' "$out" | sed '1{/^---$/d}' | sed '1{/^# Source: /d}'
    # Helm's coalescing warnings (log.Printf through slog: level=INFO msg="...").
    grep '^level=INFO msg="' "$work/stderr" | sed 's/^level=INFO msg="//; s/"$//; s/\\"/"/g' >"$case_dir/warnings" || true
    [ -s "$case_dir/warnings" ] || rm -f "$case_dir/warnings"
  else
    echo "ERROR: $(sed -n '/^Error: /,$p' "$work/stderr" | sed '1s/^Error: //')"
  fi
}

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  for d in "$here"/*/; do cases+=("$(basename "$d")"); done
fi
for c in "${cases[@]}"; do
  case_dir="$here/$c"
  op="$(cat "$case_dir/op")"
  chart="$work/$c"
  rm -rf "$chart"
  if [ "$op" = values ] && [ -d "$case_dir/chart" ]; then
    cp -r "$case_dir/chart" "$chart"
  else
    mkdir -p "$chart"
    printf 'apiVersion: v2\nname: golden\nversion: 0.1.0\n' >"$chart/Chart.yaml"
  fi
  mkdir -p "$chart/templates"
  printf '%s' "$(template_for "$op")" >"$chart/templates/out.yaml"
  for f in input.yaml input.json input.toml; do
    [ -f "$case_dir/$f" ] && cp "$case_dir/$f" "$chart/$f"
  done
  args=()
  if [ -f "$case_dir/args" ]; then
    while IFS= read -r line || [ -n "$line" ]; do args+=("$line"); done <"$case_dir/args"
  fi
  if [ "$op" = values ]; then
    run_helm "$chart" ${args[@]+"${args[@]}"} >"$case_dir/expected"
  else
    "$ENGINE" "$chart" | jq -j '.["templates/out.yaml"] // ("ERROR: " + .error)' >"$case_dir/expected"
  fi
  echo "$c: $(head -c 100 "$case_dir/expected" | head -1)"
done
