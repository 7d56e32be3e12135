#!/usr/bin/env bash
# Regenerates the chart fixtures of tests/chart_*.rs with the reference helm (testenv/oracles.sh helm):
# `helm create web` trimmed to a deployment, a service and a service account, packaged at several versions,
# and index.yaml written by `helm repo index` (relative URLs, helm's digests).
# htpasswd holds user `tack`, password `chart-secret` (bcrypt), for the registry's basic-auth test.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
helm="$(bash "$here/../../../../testenv/oracles.sh" helm | cut -d= -f2)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"
rm -f "$here"/*.tgz
for v in 0.1.0 0.2.0 1.0.0 1.1.0 1.2.0-rc.1; do
  rm -rf web; "$helm" create web >/dev/null
  rm -rf web/templates/tests web/templates/NOTES.txt web/templates/hpa.yaml web/templates/ingress.yaml \
    web/templates/httproute.yaml
  sed -i "s/^version:.*/version: $v/" web/Chart.yaml
  "$helm" package web -d "$here" >/dev/null
done
"$helm" repo index "$here"
# The generation time is the only thing that changes between runs: fix it.
sed -i -E 's/^( *(created|generated): ).*/\1"2026-01-01T00:00:00Z"/' "$here/index.yaml"
