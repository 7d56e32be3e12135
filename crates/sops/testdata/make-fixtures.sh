#!/usr/bin/env bash
# Encrypts the plaintext fixtures in plain/ with the reference `sops` (testenv/oracles.sh sops) to the test age
# key, into encrypted/. The outputs are committed; rerun only to change the fixtures (each run draws new data
# keys and IVs, so every encrypted file changes).
#
#   bash crates/sops/testdata/make-fixtures.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
sops="$(bash "$root/testenv/oracles.sh" sops | sed -n 's/^sops=//p')"
recipient="$(sed -n 's/^# public key: //p' "$here/test-only.agekey")"
other="$(sed -n 's/^# public key: //p' "$here/test-only-other.agekey")"
out="$here/encrypted"
mkdir -p "$out"
# No .sops.yaml may steer the encryption: run from a directory without one.
cd "$here/plain"
enc() { # OUTPUT INPUT [SOPS FLAGS...]
  local output=$1 input=$2; shift 2
  "$sops" --disable-version-check encrypt --age "$recipient" "$@" "$input" >"$out/$output"
}
enc secret.enc.yaml secret.yaml --encrypted-regex '^(data|stringData)$'
enc values.enc.yaml values.yaml
# mac_only_encrypted has no flag: a configuration file sets it.
config="$(mktemp)"; trap 'rm -f "$config"' EXIT
printf 'creation_rules:\n  - age: %s\n    encrypted_regex: ^(credentials|password)$\n    mac_only_encrypted: true\n' \
  "$recipient" >"$config"
"$sops" --disable-version-check --config "$config" encrypt values.yaml >"$out/values.mac-only.enc.yaml"
enc multi.enc.yaml multi.yaml
enc config.enc.json config.json
enc config.unencrypted-regex.enc.json config.json --unencrypted-regex '^(apiVersion|kind|metadata)$'
enc app.enc.env app.env
enc suffix.enc.yaml suffix.yaml --unencrypted-suffix _unencrypted
enc encsuffix.enc.yaml encsuffix.yaml --encrypted-suffix _encrypted
# Two recipients: the data key is opened by the second stanza (the test key), not the first.
"$sops" --disable-version-check encrypt --age "$other,$recipient" --encrypted-regex '^(data|stringData)$' \
  secret.yaml >"$out/secret.two-recipients.enc.yaml"
echo "fixtures written to $out" >&2
