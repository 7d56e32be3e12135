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
# A C compiler: Rust links with it, and the mimalloc allocator of the tack binary is compiled with it.
command -v cc >/dev/null 2>&1 || missing+=(gcc)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}"
  else
    echo "setup: please install: ${missing[*]}" >&2; exit 1
  fi
fi

# Prometheus (Debian package) for the metric-analysis tests. The tests start their own prometheus process on
# 127.0.0.1 with a temporary configuration; the system service is not started (policy-rc.d refuses it).
if ! command -v prometheus >/dev/null 2>&1 && [ ! -x /usr/bin/prometheus ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus
  else
    echo "setup: Prometheus is missing (needed by the analysis tests): run 'sudo apt-get install -y prometheus'" >&2
    echo "setup: (or put a prometheus binary on PATH; the tests look for /usr/bin/prometheus, then PATH)" >&2
  fi
fi

# Chromium and chromedriver (Debian packages) for the dashboard's browser test (crates/api/tests/api/browser.rs).
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
  else
    echo "setup: Chromium is missing (needed by the dashboard's browser test): run 'sudo apt-get install -y chromium chromium-driver'" >&2
  fi
fi
