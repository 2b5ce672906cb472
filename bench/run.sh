#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/run.sh [--quick] [--soak N] [--build-dir DIR]: the project's benchmarks in one
# command. Starts a software TPM (tests/testbed/tpm-up.sh), the registrar
# stub and the agent on loopback with the mTLS PKI of certs/make-pki.sh, in a
# private temp dir, and for the verifier stub 4 more agents (1 with --quick),
# each with its own swtpm. Prints markdown tables: each measurement beside its
# reference (the raw TPM cost of the same work, measured in the same run),
# with the machine and the git commit. Benchmarks, not tests: no thresholds,
# the targets are printed for the reader only. Stops exactly what it started.
#
# --quick: 1-2 iterations and tiny sizes (a smoke test, < 60 s once built).
# --soak N: the soak (2b) with N quotes each way, the rest at --quick sizes.
# --build-dir DIR: use an existing build; default: build into bench-build/
# with scripts/build.sh.
set -euo pipefail

src=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
quick=0
soak_n=
build=
while [ $# -gt 0 ]; do
        case $1 in
        --quick) quick=1 ;;
        --soak)
                [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "--soak needs a count" >&2; exit 2; }
                quick=1 soak_n=$2
                shift
                ;;
        --build-dir)
                [ $# -ge 2 ] || { echo "--build-dir needs a directory" >&2; exit 2; }
                build=$2
                shift
                ;;
        -h | --help)
                sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'
                exit 0
                ;;
        *) echo "usage: bench/run.sh [--quick] [--soak N] [--build-dir DIR]" >&2; exit 2 ;;
        esac
        shift
done
if [ -z "$build" ]; then
        build=$src/bench-build
        "$src/scripts/build.sh" "$build" >&2
fi
build=$(cd -- "$build" && pwd -P)
AGENT=$build/agent/keylime_agent
REGISTRAR=$build/registrar-stub/keylime_registrar_stub
VERIFIER=$build/verifier-stub/keylime_verifier_stub
TPM_BENCH=$build/bench/tpm_bench
CLIENT=$build/bench/quote_client
VERIFY_BENCH=$build/bench/verify_bench
for b in "$AGENT" "$REGISTRAR" "$VERIFIER" "$TPM_BENCH" "$CLIENT" "$VERIFY_BENCH"; do
        [ -x "$b" ] || { echo "run.sh: $b not built (KL_BUILD_BENCH=ON?)" >&2; exit 1; }
done
for c in curl jq openssl swtpm tpm2_pcrextend; do
        command -v "$c" >/dev/null || { echo "run.sh: needs $c (scripts/install-deps.sh)" >&2; exit 1; }
done

# Sizes. Full mode repeats enough for a stable median on a shared 2-core
# machine; quick mode only proves every step still works. IMA_VERIFY lines of
# IMA log and allowlist entries for the verifier's checks (section 6).
IMA_VERIFY=10000
if [ "$quick" = 1 ]; then
        ROUNDS=1 N_TPM_Q=5 N_KEYS=1 N_Q=20 N_Q_NOKA=5 N_Q_TOTAL=100 N_REG=2 N_REG_NEW=1
        IMA_SIZES=(1000 10000) N_IMA=3 N_IMA_FULL=1 N_REGISTRAR=20
        N_VERIFY=5 VER_AGENTS=(1) VER_SECS=5 N_SOAK=200
else
        ROUNDS=5 N_TPM_Q=60 N_KEYS=5 N_Q=60 N_Q_NOKA=20 N_Q_TOTAL=10000 N_REG=10 N_REG_NEW=5
        IMA_SIZES=(1000 100000 1000000) N_IMA=20 N_IMA_FULL=3 N_REGISTRAR=500
        N_VERIFY=200 VER_AGENTS=(1 2 4) VER_SECS=20 N_SOAK=100000
fi
[ -z "$soak_n" ] || N_SOAK=$soak_n

T=$(mktemp -d "${TMPDIR:-/tmp}/kl-bench.XXXXXX")
SHM=
PIDS=()
cleanup() {
        local p
        for p in "${PIDS[@]}"; do
                kill "$p" 2>/dev/null || true
        done
        for p in "${PIDS[@]}"; do
                wait "$p" 2>/dev/null || true
        done
        "$src/tests/testbed/tpm-down.sh" "$T/tpm" >/dev/null 2>&1 || true
        for p in "$T"/etpm*/; do
                [ -d "$p" ] || continue
                "$src/tests/testbed/tpm-down.sh" "$p" >/dev/null 2>&1 || true
        done
        # An agent run as root mounts a tmpfs at <keylime_dir>/secure: only ours, deepest first.
        if [ "$(id -u)" = 0 ]; then
                awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo |
                        sort -r | while read -r m; do umount "$m" 2>/dev/null || true; done
        fi
        rm -rf -- "$T"
        [ -z "$SHM" ] || rm -rf -- "$SHM"
}
trap cleanup EXIT
say() { printf '.. %s\n' "$*" >&2; }
die() {
        printf 'run.sh: %s\n' "$*" >&2
        exit 1
}

# ---- statistics over files of one number per line -------------------------
# stats FILE: "n median min max p95" (nearest-rank percentiles).
stats() {
        sort -g "$1" | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print "0 - - - -"; exit }
                m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                p = int(0.95 * NR + 0.999999); if (p < 1) p = 1
                printf "%d %.2f %.2f %.2f %.2f\n", NR, m, v[1], v[NR], v[p] }'
}
median() { stats "$1" | cut -d' ' -f2; }
# ratio A B: A/B with two decimals, "-" when either is missing.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f×\n", a / b }'; }
# tpm_samples OP: the samples of one tpm_bench operation into $T/s.OP.
tpm_samples() { awk -v op="$1" '$1 == op { print $2 }' "$T/tpm_bench.out" >"$T/s.$1"; }

ROWS=$T/rows.md
row() { # row ITEM SAMPLEFILE REFERENCE RATIO TARGET
        local n med min max p95
        read -r n med min max p95 < <(stats "$2")
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$n" "$med" "$min" "$max" \
                "$p95" "$3" "$4" "$5" >>"$ROWS"
}
note_row() { printf '| %s | - | - | - | - | - | %s | - | %s |\n' "$1" "$2" "$3" >>"$ROWS"; }

# ---- memory: /proc/PID/status and smaps_rollup, in KiB ---------------------
MEM=$T/mem.md
kib() { awk -v k="$1" '$1 == k":" { print $2 }' "$2"; }
mem_row() { # mem_row WHAT PID
        local st=/proc/$2/status anon file hwm rss pss
        [ -r "$st" ] || { printf '| %s | (not running) | | | | |\n' "$1" >>"$MEM"; return; }
        anon=$(kib RssAnon "$st") file=$(kib RssFile "$st") rss=$(kib VmRSS "$st")
        hwm=$(kib VmHWM "$st")
        pss=$(kib Pss "/proc/$2/smaps_rollup" 2>/dev/null || echo -)
        awk -v w="$1" -v a="$anon" -v f="$file" -v r="$rss" -v h="$hwm" -v p="${pss:--}" \
                'function m(x) { return x == "-" ? "-" : sprintf("%.2f", x / 1024) }
                 BEGIN { printf "| %s | %s | %s | %s | %s | %s |\n", w, m(a), m(f), m(r), m(p), m(h) }' \
                >>"$MEM"
}

# ---- the test bed -----------------------------------------------------------
say "software TPM, PKI, registrar stub (temp dir $T)"
"$src/tests/testbed/tpm-up.sh" "$T/tpm" >/dev/null || die "tpm-up.sh failed"
# shellcheck source=/dev/null
. "$T/tpm/env"
export TCTI TSS2_LOG=all+none
"$src/certs/make-pki.sh" "$T/pki" 2>/dev/null || die "make-pki.sh failed"

# the stubs' mTLS: the registrar's second listener, the verifier's API, their clients
REG_TLS_ARGS=(--tls-cert "$T/pki/server-cert.crt" --tls-key "$T/pki/server-private.pem"
        --client-ca "$T/pki/cacert.crt")
VTLS=(--ca "$T/pki/cacert.crt" --client-cert "$T/pki/client-cert.crt"
        --client-key "$T/pki/client-private.pem")
STUB_TLS=(--cacert "$T/pki/cacert.crt" --cert "$T/pki/client-cert.crt"
        --key "$T/pki/client-private.pem")
"$REGISTRAR" --listen 127.0.0.1:0 --port-file "$T/reg.port" --db "$T/reg.sqlite" \
        --tls-listen 127.0.0.1:0 --tls-port-file "$T/reg.tlsport" "${REG_TLS_ARGS[@]}" \
        --ek-ca-dir "$KL_TPM_EK_CA_DIR" --log-level warn >"$T/reg.log" 2>&1 &
REG_PID=$!
PIDS+=("$REG_PID")
for _ in $(seq 100); do
        [ -s "$T/reg.port" ] && break
        sleep 0.05
done
[ -s "$T/reg.port" ] || die "registrar stub did not start: $(tail -3 "$T/reg.log")"
REG_PORT=$(cat "$T/reg.port")
REG_URL=http://127.0.0.1:$REG_PORT
REG_TLS_URL=https://127.0.0.1:$(cat "$T/reg.tlsport")

# free_port: a port nobody listens on, below Linux's ephemeral range (32768-60999
# by default), where the many outgoing loopback connections of a run cannot hold it.
free_port() {
        local p
        for _ in $(seq 50); do
                p=$((20000 + RANDOM % 12000))
                (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
        done
        return 1
}
UUID=d432fbb3-d2f1-4a97-9ef7-75bd81c0be0c
KLD=$T/kl
mkdir -p "$KLD/cv_ca"
cp "$T/pki/cacert.crt" "$KLD/cv_ca/cacert.crt"
APORT=$(free_port) || die "no free port"
# agent_conf FILE [EXTRA TOML LINES...]
agent_conf() {
        local f=$1
        shift
        {
                echo "[agent]"
                echo "uuid = \"$UUID\""
                echo "keylime_dir = \"$KLD\""
                echo "registrar_ip = \"127.0.0.1\""
                echo "registrar_port = $REG_PORT"
                echo "port = $APORT"
                echo "run_as = \"\""
                printf '%s\n' "$@"
        } >"$f"
}
# A 10-line IMA log for the quote measurements (the verifier's steady state:
# ima_ml_entry at the end, so the answer carries no new lines).
ima_log() { # ima_log FILE LINES
        awk -v n="$2" 'BEGIN { for (i = 1; i <= n; i++)
                printf "10 %040x ima-ng sha256:%064x /usr/lib/bench/file%d\n", i, i, i }' >"$1"
}
ima_log "$T/ima10.log" 10
agent_conf "$T/agent.conf" "ima_ml_path = \"$T/ima10.log\"" \
        "measuredboot_ml_path = \"$T/no-uefi-log\""
export KEYLIME_AGENT_CONFIG=$T/agent.conf

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- 1. raw TPM cost of registration (before any agent holds a TPM slot) ---------
# The quote floor is measured in section 2, in rounds interleaved with the agent's.
say "1. raw TPM: $N_KEYS EK/AK/ActivateCredential rounds"
"$TPM_BENCH" -n 0 -k "$N_KEYS" -m 0x400 >"$T/tpm_bench.out" || die "tpm_bench failed"
for op in tpm_open ek_create ek_cert_read ak_create ak_load makecred_sw activate_credential; do
        tpm_samples "$op"
done
# Process start alone (exec, dynamic linking of OpenSSL, GnuTLS, curl, tss2): part of 3.
: >"$T/s.exec"
for _ in $(seq "$N_REG"); do
        t0=$(date +%s%N)
        "$AGENT" --version >/dev/null
        awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }' >>"$T/s.exec"
done

# ---- 3. registration: process start -> active --------------------------------
say "3. registration: keylime_agent --register-only ($N_REG_NEW without, $N_REG with agent_data.json)"
register_once() { # register_once OUTFILE: wall ms of one --register-only run
        local t0 t1
        t0=$(date +%s%N)
        "$AGENT" --register-only >>"$T/register.log" 2>&1 || die "registration failed: $(tail -3 "$T/register.log")"
        t1=$(date +%s%N)
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }' >>"$1"
}
# The first start also makes the NK and the mTLS certificate; not counted.
register_once "$T/warmup"
: >"$T/s.reg_new"
: >"$T/s.reg_load"
# A new AK is a new TPM identity, which the registrar refuses under a known ID
# (as upstream): each run takes its own ID, then the first AK comes back.
cp -- "$KLD/agent_data.json" "$T/agent_data.keep"
for i in $(seq "$N_REG_NEW"); do
        rm -f -- "$KLD/agent_data.json"
        KEYLIME_AGENT_UUID=$(printf 'be0c0000-0000-4000-8000-%012d' "$i") register_once "$T/s.reg_new"
done
cp -- "$T/agent_data.keep" "$KLD/agent_data.json"
for _ in $(seq "$N_REG"); do
        register_once "$T/s.reg_load"
done
grep -q "AK loaded from agent data" "$T/register.log" || die "the agent never loaded its AK"

# ---- 2 and 4. the serving agent: quotes and memory --------------------------
start_agent() { # start_agent LOG: serve in the background, sets AGENT_PID
        "$AGENT" >"$1" 2>&1 &
        AGENT_PID=$!
        PIDS+=("$AGENT_PID")
        for _ in $(seq 300); do
                grep -q "serving the agent API" "$1" && return 0
                kill -0 "$AGENT_PID" 2>/dev/null || die "agent exited: $(tail -3 "$1")"
                sleep 0.05
        done
        die "agent API did not start: $(tail -3 "$1")"
}
stop_agent() {
        kill "$AGENT_PID" 2>/dev/null || true
        wait "$AGENT_PID" 2>/dev/null || true
}
start_agent "$T/agent.log"
BASE=https://127.0.0.1:$APORT
TLS=(--cacert "$KLD/server-cert.crt" --cert "$T/pki/client-cert.crt" --key "$T/pki/client-private.pem")
QURL="$BASE/v2.6/quotes/integrity?nonce=bench{i}&mask=0x400&partial=1&ima_ml_entry=10"
mem_row "agent, idle after registration" "$AGENT_PID"

say "2. integrity quotes over mTLS: $ROUNDS rounds of $N_TPM_Q raw, $N_Q keep-alive, $N_Q_NOKA new-connection"
# Rounds alternate raw TPM and agent blocks on the same swtpm, so load from
# other work on the machine hits both sides alike; each round gives a ratio.
: >"$T/tpm_q.out"
: >"$T/s.q_ka"
: >"$T/s.q_noka"
: >"$T/s.round_ratio"
for r in $(seq "$ROUNDS"); do
        "$TPM_BENCH" -q -n "$N_TPM_Q" -m 0x400 >"$T/tpm_q_round.out" || die "tpm_bench -q failed"
        cat "$T/tpm_q_round.out" >>"$T/tpm_q.out"
        "$CLIENT" -n "$N_Q" -o "$((r * 1000))" "${TLS[@]}" "$QURL" >"$T/q_ka.out" ||
                die "quotes (keep-alive) failed"
        "$CLIENT" -n "$N_Q_NOKA" -o "$((r * 1000 + 500))" -K "${TLS[@]}" "$QURL" >"$T/q_noka.out" ||
                die "quotes (no keep-alive) failed"
        # Drop the first keep-alive request: it carries the one TLS handshake.
        awk '$1 != "total" && NR > 1 { print $1 }' "$T/q_ka.out" >"$T/s.q_ka_round"
        cat "$T/s.q_ka_round" >>"$T/s.q_ka"
        awk '$1 != "total" { print $1 }' "$T/q_noka.out" >>"$T/s.q_noka"
        awk '$1 == "quote_request_tpm" { print $2 }' "$T/tpm_q_round.out" >"$T/s.tpm_q_round"
        awk -v a="$(median "$T/s.q_ka_round")" -v b="$(median "$T/s.tpm_q_round")" \
                'BEGIN { printf "%.3f\n", a / b }' >>"$T/s.round_ratio"
done
mv -f -- "$T/tpm_q.out" "$T/tpm_bench.out"
for op in pcr16_reset_extend quote_with_pcr_read pcr_read quote_request_tpm; do
        tpm_samples "$op"
done
RAW_Q=$(median "$T/s.quote_request_tpm")
# A TLS handshake alone: the same connection cost on a route without the TPM.
"$CLIENT" -n "$N_Q_NOKA" -K "${TLS[@]}" "$BASE/version" >"$T/v_noka.out" || die "/version failed"
awk '$1 != "total" { print $1 }' "$T/v_noka.out" >"$T/s.v_noka"
"$CLIENT" -n "$N_Q" "${TLS[@]}" "$BASE/version" >"$T/v_ka.out" || die "/version failed"
awk '$1 != "total" && NR > 1 { print $1 }' "$T/v_ka.out" >"$T/s.v_ka"
mem_row "agent, after $((ROUNDS * (N_Q + N_Q_NOKA))) quotes" "$AGENT_PID"
rss_first=$(kib VmRSS "/proc/$AGENT_PID/status")
rest=$((N_Q_TOTAL - ROUNDS * (N_Q + N_Q_NOKA)))
[ "$rest" -gt 0 ] && { "$CLIENT" -n "$rest" -o 100000 "${TLS[@]}" "$QURL" >"$T/q_bulk.out" ||
        die "bulk quotes failed"; }
mem_row "agent, after $N_Q_TOTAL quotes" "$AGENT_PID"
rss_last=$(kib VmRSS "/proc/$AGENT_PID/status")
QUOTE_RSS_GROWTH=$((rss_last - rss_first))

# ---- 2b. soak: N_SOAK quotes on one connection, then N_SOAK on new ones -------
# Each quote is a real TPM quote, so the full soak takes hours on swtpm; what it
# shows is that nothing grows (RSS before and after) and nothing fails.
say "2b. soak: $N_SOAK quotes over keep-alive, then $N_SOAK over new mTLS connections"
: >"$T/soak.rows"
soak() { # soak LABEL OFFSET [quote_client flags...]
        local label=$1 off=$2 before after t0 ms
        shift 2
        before=$(kib VmRSS "/proc/$AGENT_PID/status")
        t0=$(date +%s%N)
        "$CLIENT" -n "$N_SOAK" -o "$off" "$@" "${TLS[@]}" "$QURL" >"$T/soak.out" ||
                die "soak ($label) failed: $(grep -v ' 200 ' "$T/soak.out" | head -3)"
        ms=$((($(date +%s%N) - t0) / 1000000))
        after=$(kib VmRSS "/proc/$AGENT_PID/status")
        printf '| %s | %d | %d | %.2f | %.2f | %+d | %.1f |\n' "$label" "$N_SOAK" \
                "$(grep -vc -e ' 200 ' -e '^total' "$T/soak.out" || true)" "$(echo "$before" | awk '{ print $1 / 1024 }')" \
                "$(echo "$after" | awk '{ print $1 / 1024 }')" "$((after - before))" \
                "$(awk -v n="$N_SOAK" -v ms="$ms" 'BEGIN { print n * 1000 / (ms > 0 ? ms : 1) }')" >>"$T/soak.rows"
}
soak "keep-alive (one connection)" 1000000
soak "new connection each" 2000000 -K
IDLE_AGENT_PID=$AGENT_PID

# ---- 7. registrar stub: registrations/s on a recorded body --------------------
say "7. registrar stub: $N_REGISTRAR POSTs of a recorded registration"
curl -s "${STUB_TLS[@]}" "$REG_TLS_URL/v2.6/agents/$UUID" >"$T/reg_get.json"
# The body the agent POSTs (agent/registration.c), rebuilt from the stub's record.
jq '.results | {aik_tpm, ek_tpm, ekcert, iak_cert: null, idevid_cert: null, ip, mtls_cert, port}' \
        "$T/reg_get.json" >"$T/reg_body.json" || die "cannot rebuild the registration body"
RURL="$REG_URL/v2.6/agents/{uuid}"
"$CLIENT" -n "$N_REGISTRAR" -d "$T/reg_body.json" "$RURL" >"$T/r1.out" || die "registrar POSTs failed"
awk '$1 != "total" { print $1 }' "$T/r1.out" >"$T/s.reg_post"
reg_rate1=$(awk -v n="$N_REGISTRAR" '$1 == "total" { printf "%.0f", n / ($2 / 1000) }' "$T/r1.out")
# Two clients at once: the stub on both cores.
"$CLIENT" -n "$N_REGISTRAR" -o 1000000 -d "$T/reg_body.json" "$RURL" >"$T/r2a.out" &
c1=$!
"$CLIENT" -n "$N_REGISTRAR" -o 2000000 -d "$T/reg_body.json" "$RURL" >"$T/r2b.out" &
c2=$!
t0=$(now_ms)
wait "$c1" || die "parallel registrar POSTs failed"
wait "$c2" || die "parallel registrar POSTs failed"
reg_rate2=$(awk -v n="$((2 * N_REGISTRAR))" -v ms="$(($(now_ms) - t0))" 'BEGIN { printf "%.0f", n / (ms / 1000) }')
mem_row "registrar stub, after $((3 * N_REGISTRAR)) benchmark registrations" "$REG_PID"
# The same with the stub's SQLite on tmpfs: what its per-registration fsyncs cost.
reg_rate_shm=-
if [ -d /dev/shm ] && [ -w /dev/shm ] && SHM=$(mktemp -d /dev/shm/kl-bench.XXXXXX); then
        "$REGISTRAR" --listen 127.0.0.1:0 --port-file "$SHM/reg.port" --db "$SHM/reg.sqlite" \
                --ek-ca-dir "$KL_TPM_EK_CA_DIR" --log-level warn >"$T/reg-shm.log" 2>&1 &
        REG2_PID=$!
        PIDS+=("$REG2_PID")
        for _ in $(seq 100); do
                [ -s "$SHM/reg.port" ] && break
                sleep 0.05
        done
        [ -s "$SHM/reg.port" ] || die "registrar stub on tmpfs did not start"
        "$CLIENT" -n "$N_REGISTRAR" -d "$T/reg_body.json" \
                "http://127.0.0.1:$(cat "$SHM/reg.port")/v2.6/agents/{uuid}" >"$T/r3.out" ||
                die "registrar (tmpfs) POSTs failed"
        awk '$1 != "total" { print $1 }' "$T/r3.out" >"$T/s.reg_post_shm"
        reg_rate_shm=$(awk -v n="$N_REGISTRAR" '$1 == "total" { printf "%.0f", n / ($2 / 1000) }' "$T/r3.out")
        kill "$REG2_PID" 2>/dev/null || true
        wait "$REG2_PID" 2>/dev/null || true
fi

mem_row "agent, peak (VmHWM column) after all of the above" "$IDLE_AGENT_PID"
stop_agent

# ---- 5. IMA scaling --------------------------------------------------------------
: >"$T/ima.rows"
for n in "${IMA_SIZES[@]}"; do
        say "5. IMA log of $n lines"
        ima_log "$T/ima.log" "$n"
        agent_conf "$T/agent-ima.conf" "ima_ml_path = \"$T/ima.log\"" \
                "measuredboot_ml_path = \"$T/no-uefi-log\""
        KEYLIME_AGENT_CONFIG=$T/agent-ima.conf start_agent "$T/agent-ima-$n.log"
        last="$BASE/v2.6/quotes/integrity?nonce=ima{i}&mask=0x400&partial=1&ima_ml_entry=$((n - 10))"
        full="$BASE/v2.6/quotes/integrity?nonce=full{i}&mask=0x400&partial=1&ima_ml_entry=0"
        # The first request after start counts the log once (ima_log.h); the rest are O(10).
        "$CLIENT" -n "$((N_IMA + 1))" "${TLS[@]}" "$last" >"$T/ima_last.out" ||
                die "IMA last-10 quotes failed"
        first=$(awk 'NR == 1 { print $1 }' "$T/ima_last.out")
        awk '$1 != "total" && NR > 1 { print $1 }' "$T/ima_last.out" >"$T/s.ima_last_$n"
        rss_last10=$(kib VmRSS "/proc/$AGENT_PID/status")
        if "$CLIENT" -n "$N_IMA_FULL" -o 1000 "${TLS[@]}" "$full" >"$T/ima_full.out" 2>"$T/ima_full.err"; then
                awk '$1 != "total" { print $1 }' "$T/ima_full.out" >"$T/s.ima_full_$n"
                bytes=$(awk 'NR == 1 { print $3 }' "$T/ima_full.out")
                # the list is streamed: the peak shows memory does not grow with the log
                full_note="answer $(awk -v b="$bytes" -v h="$(kib VmHWM "/proc/$AGENT_PID/status")" \
                        'BEGIN { printf "%.1f MiB, agent peak RSS %.1f MiB", b / 1048576, h / 1024 }')"
        else
                : >"$T/s.ima_full_$n"
                full_note="refused: $(awk 'NR == 1 { print "HTTP " $2 }' "$T/ima_full.out")"
        fi
        st=/proc/$AGENT_PID/status
        printf '%s %s %s %s %s %s\n' "$n" "$first" "$rss_last10" "$(kib VmRSS "$st")" \
                "$(kib VmHWM "$st")" "$full_note" >>"$T/ima.rows"
        stop_agent
done

# ---- 6. verifier stub: checks on recorded evidence, then end to end ----------------
# (a) One real answer of the agent with a whole IMA list of $IMA_VERIFY lines
# that PCR 10 matches, and the AK from the registrar: recorded once, then
# checked in a loop on one core by verify_bench with the stub's own code.
say "6. verifier: $IMA_VERIFY-line IMA log in PCR 10, one recorded answer, $N_VERIFY checks"
# PCR 10 from zero: power-cycle the TPM (no agent holds it now), then extend
# it with the log's digests, many per tpm2_pcrextend call.
"$src/tests/testbed/tpm-reset.sh" "$T/tpm" >/dev/null 2>&1 || die "tpm-reset.sh failed"
"$VERIFY_BENCH" -g "$IMA_VERIFY" "$T/ima-verify.log" "$T/ima-verify-policy.json" \
        >"$T/ima-verify.specs" || die "verify_bench -g failed"
xargs -n 200 tpm2_pcrextend <"$T/ima-verify.specs" >/dev/null || die "tpm2_pcrextend failed"
agent_conf "$T/agent-verify.conf" "ima_ml_path = \"$T/ima-verify.log\"" \
        "measuredboot_ml_path = \"$T/no-uefi-log\""
KEYLIME_AGENT_CONFIG=$T/agent-verify.conf start_agent "$T/agent-verify.log"
VNONCE=verifybench$(printf '%09d' "$RANDOM")
curl -sf "${TLS[@]}" -o "$T/answer.json" \
        "$BASE/v2.6/quotes/integrity?nonce=$VNONCE&mask=0x400&partial=0&ima_ml_entry=0" ||
        die "recording the integrity quote failed"
stop_agent
curl -sf "${STUB_TLS[@]}" "$REG_TLS_URL/v2.6/agents/$UUID" | jq -er .results.aik_tpm >"$T/aik.b64" ||
        die "no aik_tpm at the registrar"
"$VERIFY_BENCH" -n "$N_VERIFY" "$T/answer.json" "$T/aik.b64" "$VNONCE" \
        "$T/ima-verify-policy.json" >"$T/verify_bench.out" || die "verify_bench failed"
for op in answer_parse quote_check quote_ima_check policy_parse; do
        awk -v op="$op" '$1 == op { print $2 }' "$T/verify_bench.out" >"$T/s.vb_$op"
done
ANSWER_MIB=$(awk -v b="$(stat -c %s "$T/answer.json")" 'BEGIN { printf "%.1f", b / 1048576 }')

# (b) N agents, each with its own swtpm (copies of one template: fast, and
# they share one EK CA), its own keylime_dir and port, registered at their own
# registrar stub, all polled by one verifier stub at its shortest interval.
NMAX=${VER_AGENTS[${#VER_AGENTS[@]} - 1]}
say "6. verifier end to end: $NMAX agents with their own swtpm"
export KL_TPM_TEMPLATE=$T/tpm-template
for i in $(seq "$NMAX"); do
        "$src/tests/testbed/tpm-up.sh" "$T/etpm$i" >/dev/null || die "tpm-up.sh etpm$i failed"
done
unset KL_TPM_TEMPLATE
# shellcheck source=/dev/null
EK_CA=$(. "$T/etpm1/env" && echo "$KL_TPM_EK_CA_DIR")
"$REGISTRAR" --listen 127.0.0.1:0 --port-file "$T/ereg.port" --db "$T/ereg.sqlite" \
        --tls-listen 127.0.0.1:0 --tls-port-file "$T/ereg.tlsport" "${REG_TLS_ARGS[@]}" \
        --ek-ca-dir "$EK_CA" --log-level warn >"$T/ereg.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do
        [ -s "$T/ereg.port" ] && break
        sleep 0.05
done
[ -s "$T/ereg.port" ] || die "second registrar stub did not start: $(tail -3 "$T/ereg.log")"
EREG_URL=https://127.0.0.1:$(cat "$T/ereg.tlsport")
EUUIDS=()
EPORTS=()
for i in $(seq "$NMAX"); do
        u=$(printf 'e2e00000-0000-4000-8000-%012d' "$i")
        d=$T/ea$i
        p=$(free_port) || die "no free port"
        mkdir -p "$d/cv_ca"
        cp "$T/pki/cacert.crt" "$d/cv_ca/cacert.crt"
        {
                echo "[agent]"
                echo "uuid = \"$u\""
                echo "keylime_dir = \"$d\""
                echo "registrar_ip = \"127.0.0.1\""
                echo "registrar_port = $(cat "$T/ereg.port")"
                echo "port = $p"
                echo "run_as = \"\""
                echo "ima_ml_path = \"$T/ima10.log\""
                echo "measuredboot_ml_path = \"$T/no-uefi-log\""
        } >"$T/ea$i.conf"
        # shellcheck source=/dev/null
        (. "$T/etpm$i/env" && KEYLIME_AGENT_CONFIG=$T/ea$i.conf exec "$AGENT") >"$T/ea$i.log" 2>&1 &
        PIDS+=("$!")
        EUUIDS+=("$u")
        EPORTS+=("$p")
done
for i in $(seq "$NMAX"); do
        for _ in $(seq 300); do
                grep -q "serving the agent API" "$T/ea$i.log" && break
                sleep 0.05
        done
        grep -q "serving the agent API" "$T/ea$i.log" || die "agent ea$i did not start: $(tail -3 "$T/ea$i.log")"
done
TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
: >"$T/e2e.rows"
for n in "${VER_AGENTS[@]}"; do
        say "6. verifier end to end: $n agent(s), --interval 0.1, ${VER_SECS}s"
        rm -f -- "$T/ver.port" "$T/ver.sqlite"
        "$VERIFIER" serve --listen 127.0.0.1:0 --port-file "$T/ver.port" --db "$T/ver.sqlite" \
                --registrar "$EREG_URL" "${VTLS[@]}" --tls-cert "$T/pki/server-cert.crt" \
                --tls-key "$T/pki/server-private.pem" --interval 0.1 --revocation-pub '' \
                --log-level warn >"$T/ver-$n.log" 2>&1 &
        VER_PID=$!
        PIDS+=("$VER_PID")
        for _ in $(seq 100); do
                [ -s "$T/ver.port" ] && break
                sleep 0.05
        done
        [ -s "$T/ver.port" ] || die "verifier stub did not start: $(tail -3 "$T/ver-$n.log")"
        VER_URL=https://127.0.0.1:$(cat "$T/ver.port")
        # vcounts: "SUM_OF_ATTESTATION_COUNTS STATES" over the first n agents.
        vcounts() {
                local i sum=0 c st states=
                for ((i = 0; i < n; i++)); do
                        read -r c st < <("$VERIFIER" status --verifier "$VER_URL" "${VTLS[@]}" \
                                --uuid "${EUUIDS[i]}" 2>/dev/null |
                                jq -r '"\(.attestation_count) \(.operational_state | gsub(" "; "_"))"') ||
                                c=0 st=unknown
                        sum=$((sum + ${c:-0}))
                        [ "$st" = Get_Quote ] || [ "$st" = Provide_V ] || states="$states $st"
                done
                echo "$sum${states:+ $states}"
        }
        for ((i = 0; i < n; i++)); do
                "$VERIFIER" add --verifier "$VER_URL" "${VTLS[@]}" --uuid "${EUUIDS[i]}" \
                        --agent "127.0.0.1:${EPORTS[i]}" >"$T/ver-add.log" 2>&1 ||
                        die "verifier add failed: $(cat "$T/ver-add.log")"
        done
        # Wait until every agent has a good quote, then count over a fixed window.
        for _ in $(seq 100); do
                ok=0
                for ((i = 0; i < n; i++)); do
                        c=$("$VERIFIER" status --verifier "$VER_URL" "${VTLS[@]}" --uuid "${EUUIDS[i]}" \
                                2>/dev/null | jq -r .attestation_count) || c=0
                        [ "${c:-0}" -ge 1 ] 2>/dev/null && ok=$((ok + 1))
                done
                [ "$ok" = "$n" ] && break
                sleep 0.1
        done
        [ "$ok" = "$n" ] || die "the verifier attested $ok of $n agents: $(tail -3 "$T/ver-$n.log")"
        read -r c0 _ < <(vcounts)
        k0=$(cpu_ticks "$VER_PID")
        t0=$(now_ms)
        sleep "$VER_SECS"
        read -r c1 bad < <(vcounts)
        k1=$(cpu_ticks "$VER_PID")
        ms=$(($(now_ms) - t0))
        awk -v n="$n" -v q="$((c1 - c0))" -v ms="$ms" -v k="$((k1 - k0))" -v tck="$TCK" \
                -v bad="${bad:-}" 'BEGIN {
                        cpu = k / tck * 1000
                        printf "%d %.1f %s %.1f %s\n", n, q / (ms / 1000),
                                (q > 0 ? sprintf("%.2f", cpu / q) : "-"), 100 * cpu / ms,
                                (bad == "" ? "" : "(states:" bad ")") }' >>"$T/e2e.rows"
        [ "$n" = "$NMAX" ] && mem_row "verifier stub, attesting $n agent(s)" "$VER_PID"
        kill "$VER_PID" 2>/dev/null || true
        wait "$VER_PID" 2>/dev/null || true
done

# ---- the report -------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$src" diff --quiet HEAD -- 2>/dev/null || commit="$commit (+ uncommitted changes)"
ref() { median "$T/s.$1"; }
sum_medians() { awk 'BEGIN { s = 0 } { s += $1 } END { printf "%.2f", s }' < <(for o in "$@"; do ref "$o"; done); }
REG_RAW_LOAD=$(sum_medians tpm_open ek_create ek_cert_read ak_load activate_credential)
REG_RAW_NEW=$(sum_medians tpm_open ek_create ek_cert_read ak_create activate_credential)

{
        echo "# keylime-agent-c benchmarks"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit: $commit; mode: $([ -n "$soak_n" ] && echo "soak $soak_n, the rest quick" || { [ "$quick" = 1 ] && echo quick || echo full; })"
        echo "- machine: $cpu, $(nproc) cores, $(free -m | awk '/^Mem:/ { print $2 }') MiB RAM, Linux $(uname -r)"
        echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared; see min/max for the noise)"
        echo "- TPM: swtpm $(swtpm --version 2>&1 | sed -n '1s/.*version \([0-9.]*\).*/\1/p') over TCP on loopback, RSA-2048 EK and AK, sha256 bank, mask 0x400 + PCR 16"
        echo
        echo "## Times (ms)"
        echo
        echo "| measurement | n | median | min | max | p95 | reference (median) | ratio | target |"
        echo "|---|---:|---:|---:|---:|---:|---|---:|---|"
} >"$ROWS"
row "1. TPM: PCR 16 reset+extend" "$T/s.pcr16_reset_extend" "" "" ""
row "1. TPM: Quote incl. PCR_Read (kl_tpm_quote)" "$T/s.quote_with_pcr_read" "" "" ""
row "1. TPM: PCR_Read of the selection alone" "$T/s.pcr_read" "" "" ""
row "1. TPM: one quote request (reset+extend+quote)" "$T/s.quote_request_tpm" "the floor of 2." "" ""
row "1. TPM: open (TCTI, Startup)" "$T/s.tpm_open" "" "" ""
row "1. TPM: EK create (RSA-2048, transient)" "$T/s.ek_create" "" "" ""
row "1. TPM: EK certificate read (NV)" "$T/s.ek_cert_read" "" "" ""
row "1. TPM: AK create (RSA-2048)" "$T/s.ak_create" "" "" ""
row "1. TPM: AK load" "$T/s.ak_load" "" "" ""
row "1. TPM: ActivateCredential (+ EK session)" "$T/s.activate_credential" "" "" ""
row "1. software MakeCredential (kl_makecred)" "$T/s.makecred_sw" "" "" ""
q_ka=$(median "$T/s.q_ka")
q_noka=$(median "$T/s.q_noka")
read -r _ _ rmin rmax _ < <(stats "$T/s.round_ratio")
row "2. agent integrity quote, mTLS keep-alive" "$T/s.q_ka" "TPM $RAW_Q" \
        "$(ratio "$q_ka" "$RAW_Q") (rounds $rmin–$rmax)" "≤ 1.10×"
row "2. agent integrity quote, new mTLS connection each" "$T/s.q_noka" "TPM $RAW_Q" "$(ratio "$q_noka" "$RAW_Q")" "-"
row "2. agent GET /version, keep-alive (HTTP+TLS only)" "$T/s.v_ka" "" "" ""
row "2. agent GET /version, new connection (TLS handshake)" "$T/s.v_noka" "" "" ""
row "3. process start alone (keylime_agent --version)" "$T/s.exec" "" "" ""
row "3. registration, AK loaded from agent_data.json" "$T/s.reg_load" "TPM sum $REG_RAW_LOAD" \
        "$(ratio "$(median "$T/s.reg_load")" "$REG_RAW_LOAD")" "≤ 1.2×"
row "3. registration, AK created" "$T/s.reg_new" "TPM sum $REG_RAW_NEW" \
        "$(ratio "$(median "$T/s.reg_new")" "$REG_RAW_NEW")" "≤ 1.2×"
for n in "${IMA_SIZES[@]}"; do
        read -r _ first _ _ _ full_note < <(grep "^$n " "$T/ima.rows")
        row "5. quote + last 10 IMA entries of $n (first request: $first ms)" "$T/s.ima_last_$n" \
                "1k: $(median "$T/s.ima_last_${IMA_SIZES[0]}")" \
                "$(ratio "$(median "$T/s.ima_last_$n")" "$(median "$T/s.ima_last_${IMA_SIZES[0]}")")" \
                "≤ 1.2× of 1k"
        if [ -s "$T/s.ima_full_$n" ]; then
                row "5. quote + whole IMA list of $n ($full_note)" "$T/s.ima_full_$n" "" "" ""
        else
                note_row "5. quote + whole IMA list of $n" "$full_note" ""
        fi
done
row "7. registrar stub POST (MakeCredential, EK chain check), 1 client" "$T/s.reg_post" \
        "$reg_rate1 registrations/s; 2 clients: $reg_rate2/s" "" ""
[ -s "$T/s.reg_post_shm" ] && row "7. registrar stub POST, SQLite on tmpfs (no fsync cost), 1 client" \
        "$T/s.reg_post_shm" "$reg_rate_shm registrations/s" "" ""
per_s() { awk -v m="$1" 'BEGIN { if (m == "-" || m == 0) print "-"; else printf "%.0f", 1000 / m }'; }
row "6. verifier: answer JSON parse ($IMA_VERIFY IMA lines, $ANSWER_MIB MiB)" "$T/s.vb_answer_parse" "" "" ""
row "6. verifier: quote check (ver_check_quote + PCR 16), recorded quote" "$T/s.vb_quote_check" \
        "$(per_s "$(median "$T/s.vb_quote_check")") verifications/s per core" "" ""
row "6. verifier: quote + IMA replay of $IMA_VERIFY lines, $IMA_VERIFY-entry allowlist" \
        "$T/s.vb_quote_ima_check" "$(per_s "$(median "$T/s.vb_quote_ima_check")") verifications/s per core" "" ""
row "6. verifier: allowlist parse, $IMA_VERIFY entries (once per agent add)" "$T/s.vb_policy_parse" "" "" ""
while read -r n rate cpu pct bad; do
        note_row "6. verifier stub end to end, $n agent(s), --interval 0.1, no IMA policy" \
                "$rate verified quotes/s ($((n * 10))/s is the interval's ceiling); verifier CPU $cpu ms per quote ($pct% of a core)${bad:+ $bad}" ""
done <"$T/e2e.rows"

{
        echo
        echo "## Memory (MiB, from /proc/PID/status and smaps_rollup)"
        echo
        echo "| process | private (RssAnon) | file-backed (RssFile) | RSS | PSS | peak (VmHWM) |"
        echo "|---|---:|---:|---:|---:|---:|"
        cat "$MEM"
        echo
        echo "Agent RSS change from quote $((ROUNDS * (N_Q + N_Q_NOKA))) to quote $N_Q_TOTAL: $QUOTE_RSS_GROWTH KiB."
        echo "Targets: agent idle private ≤ 3 MiB, total RSS ≤ 16 MiB."
        echo
        echo "## Soak: agent RSS before and after $N_SOAK integrity quotes"
        echo
        echo "| connections | quotes | failed | RSS before (MiB) | RSS after (MiB) | change (KiB) | quotes/s |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
        cat "$T/soak.rows"
        echo
        echo "## IMA scaling: agent memory per log size (MiB)"
        echo
        echo "| IMA lines | RSS after last-10 requests | RSS after whole-list requests | peak (VmHWM) | whole list |"
        echo "|---:|---:|---:|---:|---|"
        awk '{ note = $6; for (i = 7; i <= NF; i++) note = note " " $i
               printf "| %d | %.2f | %.2f | %.2f | %s |\n", $1, $3 / 1024, $4 / 1024, $5 / 1024, note }' \
                "$T/ima.rows"
} >>"$ROWS"
cat "$ROWS"
