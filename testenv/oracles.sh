#!/usr/bin/env bash
# Builds the reference tools the golden tests compare against, from Go modules, into a cache keyed by version:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tack/oracles/<tool>-<version>/bin
#
#   testenv/oracles.sh [TOOL...]     # default: every tool; prints "TOOL=/path/to/binary" lines on stdout
#
# Tools: helm (helm.sh/helm/v4, the `helm` command), helm-engine (testenv/oracles/helm-engine: Helm's template
# engine without the YAML step, for template-language goldens), jsonnet (github.com/google/go-jsonnet, the
# `jsonnet` command), registry (the Distribution registry), sops (github.com/getsops/sops/v3, the `sops` command,
# for the SOPS fixtures and decryption comparisons), kustomize (sigs.k8s.io/kustomize/kustomize/v5: `kustomize edit
# set image`, the oracle of the promotion's image edit). With a warm cache it returns at once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=oracles.env
source "$here/oracles.env"
cache="${TACK_ORACLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tack/oracles}"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
log() { echo "oracles: $*" >&2; }

# build TOOL VERSION CHECK_ARGS COMMAND...: runs COMMAND (which writes "$bin/TOOL") unless the cached binary
# answers CHECK_ARGS.
build() {
  local tool=$1 version=$2 check=$3; shift 3
  local bin="$cache/$tool-$version/bin"
  if [ -x "$bin/$tool" ] && [ -f "$bin/.complete" ] && "$bin/$tool" $check >/dev/null 2>&1; then
    echo "$tool=$bin/$tool"; return 0
  fi
  command -v go >/dev/null || { log "Go is not installed; install Go 1.26 or newer"; exit 3; }
  rm -rf "$bin"; mkdir -p "$bin"
  local t0; t0=$(date +%s)
  log "building $tool $version"
  BIN="$bin" "$@"
  "$bin/$tool" $check >/dev/null 2>&1 || { log "$tool $version was built but does not run"; exit 4; }
  touch "$bin/.complete"
  log "$tool $version built in $(( $(date +%s) - t0 ))s"
  echo "$tool=$bin/$tool"
}

build_helm() {
  GOBIN="$BIN" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v4/internal/version.metadata= -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
    "helm.sh/helm/v4/cmd/helm@v$HELM_VERSION"
}
build_jsonnet() {
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "github.com/google/go-jsonnet/cmd/jsonnet@v$JSONNET_VERSION"
}
build_registry() {
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" \
    "github.com/distribution/distribution/v3/cmd/registry@v$REGISTRY_VERSION"
}
build_sops() {
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "github.com/getsops/sops/v3/cmd/sops@v$SOPS_VERSION"
}
build_kustomize() {
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@v$KUSTOMIZE_VERSION"
}
build_helm_engine() {
  (cd "$here/oracles/helm-engine" && go build -trimpath -ldflags "-s -w" -o "$BIN/helm-engine" .)
}

tools=("$@"); [ ${#tools[@]} -gt 0 ] || tools=(helm helm-engine jsonnet)
for t in "${tools[@]}"; do
  case "$t" in
    helm) build helm "$HELM_VERSION" version build_helm ;;
    helm-engine) build helm-engine "$HELM_VERSION-$(sha256sum "$here/oracles/helm-engine/main.go" | cut -c1-12)" --help build_helm_engine ;;
    jsonnet) build jsonnet "$JSONNET_VERSION" --version build_jsonnet ;;
    registry) build registry "$REGISTRY_VERSION" --version build_registry ;;
    sops) build sops "$SOPS_VERSION" "--disable-version-check --version" build_sops ;;
    kustomize) build kustomize "$KUSTOMIZE_VERSION" version build_kustomize ;;
    *) log "unknown tool $t"; exit 2 ;;
  esac
done
