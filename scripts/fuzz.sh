#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fuzz.sh [SECONDS] [--runs N --seed S]: builds the libFuzzer targets with
# clang, ASan and UBSan and runs each on a scratch copy of its corpus, for
# SECONDS (default 30) each, or, with --runs, for N inputs from seed S
# (default 1) with SECONDS as a cap. CI uses --runs: the same seed explores
# the same inputs on every machine, so a run that passed here passes there,
# and a finding is reproducible. Findings are kept under
# build-fuzz/findings/ and printed.
set -euo pipefail
src=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
secs=30 runs= seed=1
while [ $# -gt 0 ]; do
        case $1 in
        --runs) runs=$2; shift ;;
        --seed) seed=$2; shift ;;
        *) secs=$1 ;;
        esac
        shift
done
build=$src/build-fuzz
CC=clang "$src/scripts/build.sh" "$build" -DKL_FUZZ=ON -DKL_SANITIZE=address,undefined \
        -DCMAKE_BUILD_TYPE=Debug
work=$(mktemp -d "${TMPDIR:-/tmp}/kl-fuzz.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
mkdir -p "$build/findings"
for bin in "$build"/tests/fuzz/fuzz_*; do
        name=${bin##*/fuzz_}
        mkdir -p "$work/$name"
        cp -r "$src/tests/fuzz/corpus/$name/." "$work/$name/" 2>/dev/null || true
        limits=(-max_total_time="$secs")
        [ -n "$runs" ] && limits+=(-runs="$runs" -seed="$seed")
        echo "== fuzz_$name (${runs:+$runs runs, seed $seed, }at most ${secs}s)"
        "$bin" "${limits[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
                -artifact_prefix="$build/findings/$name-" "$work/$name" 2>"$work/$name.log" || {
                tail -40 "$work/$name.log"
                echo "fuzz_$name found a crash (input in $build/findings/)" >&2
                exit 1
        }
        grep -E 'stat::number_of_executed_units' "$work/$name.log" || true
done
