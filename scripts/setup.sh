#!/usr/bin/env bash
# Set-up on a fresh machine: checks the toolchains and installs what tack's tests need from package
# registries. Idempotent; fast when everything is present.
set -euo pipefail
need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: $1 is missing: $2" >&2; exit 1; }; }
need cargo "install Rust (https://rustup.rs), stable 1.88 or newer"
need go "install Go 1.26 or newer (https://go.dev/doc/install); it builds the local control plane"
need git "install git (apt-get install git)"
missing=()
for pkg in git; do command -v "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}"
  else
    echo "setup: please install: ${missing[*]}" >&2; exit 1
  fi
fi
