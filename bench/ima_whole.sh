#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole IMA list (GET /quotes/integrity?ima_ml_entry=0, a verifier's first
# poll) per log size: the answer's size, its time (quote_client, mTLS
# keep-alive; the log is counted once by a request for its last 10 lines
# first) and the agent's memory: VmRSS before the whole lists, and VmHWM (peak)
# after them, a fresh agent per size. Prints a markdown table; no thresholds.
# Usage: bench/ima_whole.sh [--quick] [--build-dir DIR] [--agent BIN]...
#   --build-dir DIR  build with the agent and bench/quote_client (default: build)
#   --agent BIN      measure this agent binary too, on the same logs (e.g. an older
#                    build, for a before/after in one run); repeatable
# Reuses the integration-test helpers: a software TPM, the registrar stub,
# the agent on loopback with mTLS, everything stopped at exit.
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname -- "$here")
build=$src/build
quick=0
agents=()
while [ $# -gt 0 ]; do
        case $1 in
        --quick) quick=1 ;;
        --build-dir) build=$(cd -- "$2" && pwd); shift ;;
        --agent) agents+=("$(cd -- "$(dirname -- "$2")" && pwd)/$(basename -- "$2")"); shift ;;
        *) echo "usage: bench/ima_whole.sh [--quick] [--build-dir DIR] [--agent BIN]..." >&2; exit 2 ;;
        esac
        shift
done
export KL_BUILD_DIR=$build KL_SOURCE_DIR=$src
. "$src/tests/integration/lib.sh"
. "$src/tests/integration/verifier_lib.sh"
CLIENT=$build/bench/quote_client
[ -x "$CLIENT" ] || fail "$CLIENT not built (KL_BUILD_BENCH=ON?)"
agents=("$AGENT_BIN" "${agents[@]}")

SIZES=(100000 1000000) RUNS=3
[ "$quick" = 1 ] && SIZES=(1000 20000) RUNS=1
A=d432fbb3-d2f1-4a97-9ef7-75bd81c0b1a0
tpm_up tpm1
registrar_start reg
pki_up
kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# median FILE: of one number per line
median() { sort -g "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) print "-"; else printf "%.1f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

rows=$T/rows
: >"$rows"
starts=0
for n in "${SIZES[@]}"; do
        # the same synthetic ima-ng lines as bench/run.sh section 5
        awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
                printf "10 %040x ima-ng sha256:%064x /usr/lib/bench/file%d\n", i, i, i }' >"$T/ima.log"
        for bin in "${agents[@]}"; do
                log "whole IMA list of $n lines, agent $bin"
                port=$(free_port) || fail "no free port"
                starts=$((starts + 1)) # agent_start counts the start lines in its log
                AGENT_BIN=$bin AGENT_STARTS=$starts agent_start a "$tpm1_TCTI" "$A" "$port" \
                        "ima_ml_path = \"$T/ima.log\"" "measuredboot_ml_path = \"$T/no-uefi-log\""
                tls=(--cacert "$T/a/server-cert.crt" --cert "$T/pki/client-cert.crt"
                        --key "$T/pki/client-private.pem")
                url="https://127.0.0.1:$port/v2.6/quotes/integrity?nonce=w{i}&mask=0x400&partial=1"
                "$CLIENT" -n 2 "${tls[@]}" "$url&ima_ml_entry=$((n - 10))" >/dev/null ||
                        fail "last-10 quotes failed"
                before=$(kib VmRSS "$a_PID")
                if "$CLIENT" -n "$RUNS" -o 100 "${tls[@]}" "$url&ima_ml_entry=0" >"$T/w.out" 2>/dev/null; then
                        awk '$1 != "total" { print $1 }' "$T/w.out" >"$T/w.ms"
                        bytes=$(awk 'NR == 1 { print $3 }' "$T/w.out")
                        answer="$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB"
                        ms=$(median "$T/w.ms")
                else
                        answer="refused: HTTP $(awk 'NR == 1 { print $2 }' "$T/w.out")" ms=-
                fi
                printf '| %s | %s | %s | %s | %s | %s |\n' "$n" "$bin" "$answer" "$ms" \
                        "$(mib "$before")" "$(mib "$(kib VmHWM "$a_PID")")" >>"$rows"
                kill "$a_PID"
                wait "$a_PID" 2>/dev/null || true
        done
done

echo
echo "| IMA lines | agent | whole list | time, median of $RUNS (ms) | RSS before (MiB) | peak RSS, VmHWM (MiB) |"
echo "|---:|---|---|---:|---:|---:|"
sed "s#$src/##g" "$rows"
