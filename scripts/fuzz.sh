#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo-fuzz, nightly toolchain) for SECONDS each, one after the other, and
# prints one line per target: executions, corpus size, and whether it found a crash.
#
#   scripts/fuzz.sh [SECONDS]        default 600 (10 minutes per target)
#
# The corpus of each target is kept between runs in fuzz/corpus/<target>/ and crashes in fuzz/artifacts/<target>/
# (both ignored by Git). TACK_FUZZ_TARGET_DIR chooses where the fuzz build goes (default fuzz/target);
# TACK_FUZZ_FLAGS adds flags to `cargo fuzz build` and `cargo fuzz run` (e.g. `--sanitizer none` for a faster
# build without AddressSanitizer). Exits 1 if any target crashed.
set -euo pipefail

secs="${1:-600}"
case "$secs" in
'' | *[!0-9]*)
    echo "usage: scripts/fuzz.sh [SECONDS]  (seconds per target, default 600)" >&2
    exit 2
    ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
target_dir="${TACK_FUZZ_TARGET_DIR:-$root/fuzz/target}"
# shellcheck disable=SC2206
flags=(${TACK_FUZZ_FLAGS:-})
fuzz=(cargo +nightly fuzz)
if ! "${fuzz[@]}" --version >/dev/null 2>&1; then
    echo "cargo-fuzz and the nightly toolchain are needed: rustup toolchain install nightly; cargo install cargo-fuzz" >&2
    exit 2
fi

mapfile -t targets < <("${fuzz[@]}" list)
echo "building ${#targets[@]} fuzz targets (release, debug assertions) in $target_dir" >&2
"${fuzz[@]}" build -O --target-dir "$target_dir" "${flags[@]}" >&2

failed=0
summary=()
for t in "${targets[@]}"; do
    corpus="$root/fuzz/corpus/$t"
    artifacts="$root/fuzz/artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    log="$artifacts/last-run.log"
    echo "fuzzing $t for $secs s (corpus $corpus)" >&2
    status=ok
    if ! "${fuzz[@]}" run -O --target-dir "$target_dir" "${flags[@]}" "$t" "$corpus" -- \
        -max_total_time="$secs" -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1; then
        status="CRASH (see $artifacts/ and $log)"
        failed=1
    fi
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)"
    files="$(find "$corpus" -type f | wc -l)"
    summary+=("$(printf '%-22s %6s s  %12s runs  %6s corpus files  %s' "$t" "$secs" "${runs:-?}" "$files" "$status")")
done

printf '%s\n' "${summary[@]}"
exit "$failed"
