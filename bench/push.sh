#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Push model benchmarks (prints markdown tables, no thresholds):
#  1. evidence submissions per second one verifier stub (serve --mode push)
#     sustains from N push agents, each with its own swtpm and the shortest
#     interval (1 s; --interval 0.1 at the stub), and the stub's CPU per submission;
#  2. time from an IMA event on the agent (a line appended to its IMA log, PCR
#     10 extended first, as the kernel does) to "Invalid Quote" at the stub for
#     an entry the policy does not allow, with attestation_interval_seconds = 5
#     the event-driven submission, median and p95 over R runs.
# Usage: bench/push.sh [--quick] [--build-dir DIR]  (DIR default: build)
# Reuses the integration-test helpers (tests/integration/*lib.sh): software
# TPMs, registrar and verifier stubs on loopback, everything stopped at exit.
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname -- "$here")
build=$src/build
quick=0
while [ $# -gt 0 ]; do
        case $1 in
        --quick) quick=1 ;;
        --build-dir) build=$(cd -- "$2" && pwd); shift ;;
        *) echo "usage: bench/push.sh [--quick] [--build-dir DIR]" >&2; exit 2 ;;
        esac
        shift
done
export KL_BUILD_DIR=$build KL_SOURCE_DIR=$src
. "$src/tests/integration/lib.sh"
. "$src/tests/integration/verifier_lib.sh"
. "$src/tests/integration/push_lib.sh"

N_AGENTS=4 SECS=20 RUNS=15
[ "$quick" = 1 ] && N_AGENTS=1 SECS=5 RUNS=3
IMA=$TESTBED/ima-log.sh
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
uuid_of() { printf 'd432fbb3-d2f1-4a97-9ef7-75bd81c0b%03d' "$1"; }

registrar_start reg
pki_up
verifier_start --mode push --interval 0.1

# ---- 1. throughput ------------------------------------------------------------
log "1. $N_AGENTS push agent(s), attestation_interval_seconds = 1, ${SECS}s"
for ((i = 0; i < N_AGENTS; i++)); do
        tpm_up "t$i"
        tcti_var="t${i}_TCTI"
        push_agent_start "a$i" "${!tcti_var}" "$(uuid_of "$i")" "attestation_interval_seconds = 1"
done
for ((i = 0; i < N_AGENTS; i++)); do
        wait_log "$T/a$i.log" "push mode: no port opened" 60
        vstub add --uuid "$(uuid_of "$i")" --agent 127.0.0.1:1 \
                --pcr "sha256:23:$(printf '%064d' 0)" >/dev/null || fail "add $i failed"
done
for ((i = 0; i < N_AGENTS; i++)); do wait_state "$(uuid_of "$i")" "Get Quote" 60 1; done
c0=0
for ((i = 0; i < N_AGENTS; i++)); do c0=$((c0 + $(count "$(uuid_of "$i")"))); done
k0=$(cpu_ticks "$VER_PID")
t0=$(date +%s%N)
sleep "$SECS"
c1=0
for ((i = 0; i < N_AGENTS; i++)); do c1=$((c1 + $(count "$(uuid_of "$i")"))); done
k1=$(cpu_ticks "$VER_PID")
t1=$(date +%s%N)
hz=$(getconf CLK_TCK)
subs=$((c1 - c0))
rate=$(awk -v n="$subs" -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", n / (t / 1e9) }')
cpu_ms=$(awk -v k=$((k1 - k0)) -v hz="$hz" -v n="$subs" \
        'BEGIN { if (n == 0) print "-"; else printf "%.1f", k * 1000 / hz / n }')
cap=$(awk -v c="$cpu_ms" 'BEGIN { if (c == "-" || c == 0) print "-"; else printf "%.0f", 1000 / c }')
for ((i = 0; i < N_AGENTS; i++)); do
        pid_var="a${i}_PID"
        kill "${!pid_var}" 2>/dev/null || true
done

# ---- 2. IMA event to "Invalid Quote" -------------------------------------------
log "2. IMA event to Invalid Quote, $RUNS runs, attestation_interval_seconds = 5"
tpm_up ti
E=$(uuid_of 900)
bash "$IMA" entry /usr/bin/good "$(printf '%064d' 1)" >"$T/ima.log"
bash "$IMA" extend "$ti_DIR" "$T/ima.log"
push_agent_start e "$ti_TCTI" "$E" "attestation_interval_seconds = 5" \
        "ima_ml_path = \"$T/ima.log\""
wait_log "$T/e.log" "push mode: no port opened" 60
: >"$T/lat"
for ((r = 0; r < RUNS; r++)); do
        # the policy allows everything logged so far; the next line is not in it
        bash "$IMA" policy "$T/ima.log" >"$T/policy.json"
        vstub add --uuid "$E" --agent 127.0.0.1:1 --ima-policy "$T/policy.json" >/dev/null ||
                fail "add failed"
        sleep 0.2
        wait_state "$E" "Get Quote" 60 1
        lines=$(wc -l <"$T/ima.log")
        bash "$IMA" entry "/usr/bin/bad$r" "$(printf '%064d' $((r + 100)))" >"$T/next.log"
        bash "$IMA" extend "$ti_DIR" "$T/next.log"
        ts=$(date +%s%N)
        cat "$T/next.log" >>"$T/ima.log"
        for ((i = 0; i < 3000; i++)); do
                vstatus "$E" && [ "$(jq -r .operational_state "$T/status.json")" = "Invalid Quote" ] &&
                        break
                sleep 0.01
        done
        te=$(date +%s%N)
        [ "$(jq -r .operational_state "$T/status.json")" = "Invalid Quote" ] ||
                fail "run $r: not flagged: $(cat "$T/status.json")"
        echo $(((te - ts) / 1000000)) >>"$T/lat"
        [ "$(wc -l <"$T/ima.log")" -gt "$lines" ] || fail "IMA log did not grow"
done
read -r med p95 lo hi < <(sort -n "$T/lat" | awk '{ a[NR] = $1 } END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        i = int(0.95 * NR + 0.999); if (i < 1) i = 1; if (i > NR) i = NR
        print m, a[i], a[1], a[NR] }')

echo
echo "| push model ($(nproc) cores) | value | notes |"
echo "|---|---|---|"
echo "| evidence submissions/s, one verifier stub, $N_AGENTS agent(s) | $rate | ${SECS}s, $subs verified submissions (session reuse, capabilities + evidence each) |"
echo "| verifier stub CPU per submission | $cpu_ms ms | POST attestations + PATCH evidence + checks; one core would sustain ~$cap/s |"
echo "| IMA event -> \"Invalid Quote\" at the stub, median | $med ms | $RUNS runs; interval 5 s, event-driven submission |"
echo "| IMA event -> \"Invalid Quote\", p95 (min, max) | $p95 ms | ($lo, $hi) ms; includes the 250 ms poll and the status poll |"
