#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fuzz.sh [SECONDS]: builds the libFuzzer targets with clang, ASan and UBSan
# and runs each for SECONDS (default 30) on a scratch copy of its corpus.
set -euo pipefail
src=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
secs=${1:-30}
build=$src/build-fuzz
CC=clang "$src/scripts/build.sh" "$build" -DKL_FUZZ=ON -DKL_SANITIZE=address,undefined \
        -DCMAKE_BUILD_TYPE=Debug
work=$(mktemp -d "${TMPDIR:-/tmp}/kl-fuzz.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
for bin in "$build"/tests/fuzz/fuzz_*; do
        name=${bin##*/fuzz_}
        mkdir -p "$work/$name"
        cp -r "$src/tests/fuzz/corpus/$name/." "$work/$name/" 2>/dev/null || true
        echo "== fuzz_$name for ${secs}s"
        "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
                -artifact_prefix="$work/$name-" "$work/$name" 2>"$work/$name.log" || {
                tail -40 "$work/$name.log"
                echo "fuzz_$name found a crash" >&2
                exit 1
        }
        grep -E 'stat::number_of_executed_units' "$work/$name.log" || true
done
