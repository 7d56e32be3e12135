#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok) from Go modules into a cache keyed by versions:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tack/control-plane/<key>/bin
# Prints the bin directory on stdout. With a warm cache it returns at once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
K8S="${KUBERNETES_VERSION}"; ETCD="${ETCD_VERSION}"; KWOK="${KWOK_VERSION}"
key="k8s-${K8S}_etcd-${ETCD}_kwok-${KWOK}"
root="${TACK_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tack/control-plane/$key}"
bin="$root/bin"
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

log() { echo "testenv: $*" >&2; }

runs() { if [ "$(basename "$1")" = kubectl ]; then "$1" version --client >/dev/null 2>&1; else "$1" --version >/dev/null 2>&1; fi; }

complete() {
  [ -f "$bin/.complete" ] || return 1
  for c in "${components[@]}"; do [ -x "$bin/$c" ] || return 1; done
  # a corrupted binary fails its version command; checking all six takes well under a second
  for c in "${components[@]}"; do runs "$bin/$c" || return 1; done
  [ -f "$root/stages/pod-ready.yaml" ] || return 1
}

if complete; then echo "$bin"; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed. Install Go 1.26 or newer (https://go.dev/doc/install, or your package manager) and retry."
  exit 3
fi

rm -f "$bin/.complete"
mkdir -p "$bin" "$root/work"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
MINOR=$(echo "$K8S" | cut -d. -f2); PATCH=$(echo "$K8S" | cut -d. -f3)
start=$(date +%s)

# What is missing or corrupted, in build order. Each build announces itself as
# `testenv: building <component> <version> (<i> of <n>)`: `tack dev up` shows it on one line that updates.
todo=()
for c in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok; do
  { [ -x "$bin/$c" ] && runs "$bin/$c"; } || todo+=("$c")
done
built_count=0
building() { built_count=$((built_count + 1)); log "building $1 $2 ($built_count of ${#todo[@]})"; }

# ---- Kubernetes: wrapper module replacing every staging module -------------
w="$root/work/kubernetes"; mkdir -p "$w"
if [ ! -f "$w/.resolved" ]; then
  rm -rf "$w"; mkdir -p "$w"
  log "resolving k8s.io/kubernetes v$K8S (module download; the builds take many minutes on 2 cores)"
  printf 'module tack.dev/testenv/kubernetes\n\ngo 1.26\n' > "$w/go.mod"
  modfile=$(cd "$w" && go mod download -json "k8s.io/kubernetes@v$K8S" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$modfile" ] || { log "could not download k8s.io/kubernetes@v$K8S go.mod"; exit 4; }
  grep -m1 '^godebug' "$modfile" >> "$w/go.mod" || true
  for m in $(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$modfile"); do
    (cd "$w" && go mod edit "-replace=$m=$m@v0.$MINOR.$PATCH")
  done
  (cd "$w" && go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S" \
      "k8s.io/kubernetes/cmd/kube-scheduler@v$K8S" "k8s.io/kubernetes/cmd/kubectl@v$K8S")
  touch "$w/.resolved"
fi
BD=$(date -u +%Y-%m-%dT%H:%M:%SZ); LD="-s -w -buildid="
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LD="$LD -X $p.gitVersion=v$K8S -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean -X $p.buildDate=$BD"
done
for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  if [ -x "$bin/$c" ] && runs "$bin/$c"; then continue; fi
  building "$c" "v$K8S"
  (cd "$w" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$LD" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c")
  mv "$bin/$c.tmp" "$bin/$c"
done

# ---- etcd -------------------------------------------------------------------
if ! { [ -x "$bin/etcd" ] && "$bin/etcd" --version >/dev/null 2>&1; }; then
  w="$root/work/etcd"; mkdir -p "$w"
  [ -f "$w/go.mod" ] || printf 'module tack.dev/testenv/etcd\n\ngo 1.26\n' > "$w/go.mod"
  building etcd "v$ETCD"
  (cd "$w" && go get -tool "go.etcd.io/etcd/server/v3@v$ETCD" && \
     go build -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=v$ETCD" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$bin/etcd.tmp" "$bin/etcd"
fi

# ---- kwok ---------------------------------------------------------------------
if ! { [ -x "$bin/kwok" ] && "$bin/kwok" --version >/dev/null 2>&1; }; then
  w="$root/work/kwok"; mkdir -p "$w"
  [ -f "$w/go.mod" ] || printf 'module tack.dev/testenv/kwok\n\ngo 1.26\n' > "$w/go.mod"
  building kwok "v$KWOK"
  (cd "$w" && go get -tool "sigs.k8s.io/kwok/cmd/kwok@v$KWOK" && \
     go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK" -o "$bin/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok)
  mv "$bin/kwok.tmp" "$bin/kwok"
fi

# ---- kwok's stock stages, read from the kwok module (not copied into the repo) --
if [ ! -f "$root/stages/pod-ready.yaml" ]; then
  mod=$(cd "$root/work" && go mod download -json "sigs.k8s.io/kwok@v$KWOK" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$mod" ] || { log "could not find the sigs.k8s.io/kwok@v$KWOK module for its stages"; exit 4; }
  mkdir -p "$root/stages"
  for f in node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    cp "$mod/kustomize/stage/$f.yaml" "$root/stages/$(basename "$f").yaml"
  done
  chmod -R u+w "$root/stages"
fi

touch "$bin/.complete"
log "control plane ready in $bin ($(( $(date +%s) - start )) s)"
echo "$bin"
