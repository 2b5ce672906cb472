# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Helpers for the integration tests: a private temp dir per test, software
# TPMs from tests/testbed, the registrar stub and the agent on loopback.
# Everything a test starts is recorded and stopped by the EXIT trap.
#
# Needs KL_BUILD_DIR and KL_SOURCE_DIR (ctest sets them).
set -euo pipefail

: "${KL_BUILD_DIR:?set KL_BUILD_DIR to the build directory}"
: "${KL_SOURCE_DIR:?set KL_SOURCE_DIR to the source directory}"
TESTBED=$KL_SOURCE_DIR/tests/testbed
AGENT_BIN=$KL_BUILD_DIR/agent/keylime_agent
REGISTRAR_BIN=$KL_BUILD_DIR/registrar-stub/keylime_registrar_stub

T=$(mktemp -d "${TMPDIR:-/tmp}/kl-it.XXXXXX")
KL_PIDS=()
KL_TPMS=()
KL_FAILED=0

KL_SKIPPED=()

it_cleanup() {
        local rc=$? pid sd
        for pid in "${KL_PIDS[@]}"; do
                kill "$pid" 2>/dev/null || true
        done
        for pid in "${KL_PIDS[@]}"; do
                wait "$pid" 2>/dev/null || true
        done
        for sd in "${KL_TPMS[@]}"; do
                "$TESTBED/tpm-down.sh" "$sd" >/dev/null 2>&1 || true
        done
        # agents started as root mount a tmpfs at <keylime_dir>/secure; deepest first
        if [ "$(id -u)" = 0 ]; then
                awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo |
                        sort -r | while read -r m; do umount "$m" 2>/dev/null || true; done
        fi
        if [ "$KL_FAILED" = 0 ] && [ -z "${KL_KEEP:-}" ]; then
                rm -rf -- "$T"
        else
                echo "test files kept in $T" >&2
        fi
        # a test that passed but left parts out is a skip, not a pass (ctest SKIP_RETURN_CODE)
        if [ "$rc" = 0 ] && [ ${#KL_SKIPPED[@]} -gt 0 ]; then
                printf 'SKIP: not run here: %s\n' "${KL_SKIPPED[*]}" >&2
                exit 77
        fi
}
trap it_cleanup EXIT

# skip REASON: nothing of the test can run here; ctest reports it as skipped.
skip() {
        printf 'SKIP: %s\n' "$*" >&2
        exit 77
}
# skip_part REASON: a part of the test cannot run here; the rest runs, and ctest
# reports the test as skipped so a missing part never passes for a tested one.
skip_part() {
        log "skipping: $*"
        KL_SKIPPED+=("$*;")
}

log() { printf '== %s\n' "$*" >&2; }
fail() {
        KL_FAILED=1
        printf 'FAIL: %s\n' "$*" >&2
        exit 1
}
pass() { printf 'PASS: %s\n' "$*" >&2; }

# tpm_up NAME [own]: starts a software TPM in $T/NAME and sets NAME_TCTI,
# NAME_EK_CA_DIR and NAME_DIR. "own" provisions a TPM with its own EK and CA
# even when KL_TPM_TEMPLATE makes the others share one.
tpm_up() {
        local name=$1 sd=$T/$1 tpl=${KL_TPM_TEMPLATE:-}
        [ "${2:-}" = own ] && tpl=
        KL_TPM_TEMPLATE=$tpl "$TESTBED/tpm-up.sh" "$sd" >/dev/null ||
                fail "cannot start software TPM $name"
        KL_TPMS+=("$sd")
        # shellcheck source=/dev/null
        . "$sd/env"
        printf -v "${name}_TCTI" '%s' "$TCTI"
        printf -v "${name}_EK_CA_DIR" '%s' "$KL_TPM_EK_CA_DIR"
        printf -v "${name}_DIR" '%s' "$sd"
}

# wait_for_file FILE [SECONDS]: waits until FILE is non-empty.
wait_for_file() {
        local f=$1 i
        for ((i = 0; i < ${2:-20} * 10; i++)); do
                [ -s "$f" ] && return 0
                sleep 0.1
        done
        return 1
}

# stub_pki_up: the throwaway PKI of the stubs and their clients in $T/pki
# (certs/make-pki.sh); STUB_TLS holds curl's options for the stubs' mTLS
# listeners: their CA and the verifier/tenant client certificate.
stub_pki_up() {
        [ -s "$T/pki/client-cert.crt" ] ||
                "$KL_SOURCE_DIR/certs/make-pki.sh" "$T/pki" 2>/dev/null || fail "make-pki.sh failed"
        STUB_TLS=(--cacert "$T/pki/cacert.crt" --cert "$T/pki/client-cert.crt"
                --key "$T/pki/client-private.pem")
}

# registrar_tls_args: the registrar's mTLS listener options for the PKI.
registrar_tls_args() {
        stub_pki_up
        REG_TLS_ARGS=(--tls-cert "$T/pki/server-cert.crt" --tls-key "$T/pki/server-private.pem"
                --client-ca "$T/pki/cacert.crt")
}

# registrar_start NAME [ARGS...]: starts the registrar stub on free ports;
# sets REG_URL (agents, plain HTTP), REG_TLS_URL (mTLS: list, show, delete)
# and REG_PID. Its log is $T/NAME.log.
registrar_start() {
        local name=$1
        shift
        registrar_tls_args
        rm -f -- "$T/$name.port" "$T/$name.tlsport"
        "$REGISTRAR_BIN" --listen 127.0.0.1:0 --port-file "$T/$name.port" \
                --tls-listen 127.0.0.1:0 --tls-port-file "$T/$name.tlsport" "${REG_TLS_ARGS[@]}" \
                --db "$T/$name.sqlite" "$@" >"$T/$name.log" 2>&1 &
        REG_PID=$!
        KL_PIDS+=("$REG_PID")
        wait_for_file "$T/$name.port" 10 || fail "registrar stub did not start: $(tail -5 "$T/$name.log")"
        REG_PORT=$(cat "$T/$name.port")
        REG_URL=http://127.0.0.1:$REG_PORT
        REG_TLS_URL=https://127.0.0.1:$(cat "$T/$name.tlsport")
}

# registrar_start_on PORT NAME [ARGS...]: the same on a fixed port (and a free mTLS port).
registrar_start_on() {
        local port=$1 name=$2 tport
        shift 2
        registrar_tls_args
        tport=$(free_port) || fail "no free port"
        "$REGISTRAR_BIN" --listen "127.0.0.1:$port" --tls-listen "127.0.0.1:$tport" \
                "${REG_TLS_ARGS[@]}" --db "$T/$name.sqlite" "$@" >"$T/$name.log" 2>&1 &
        REG_PID=$!
        KL_PIDS+=("$REG_PID")
        REG_PORT=$port
        REG_URL=http://127.0.0.1:$port
        REG_TLS_URL=https://127.0.0.1:$tport
}

# reg_get PATH OUTFILE: GET from the registrar's mTLS listener; prints the status code.
reg_get() {
        curl -s -o "$2" -w '%{http_code}' "${STUB_TLS[@]}" "$REG_TLS_URL$1"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now, in
# 10000-19999: below Linux's ephemeral range (32768+), where outgoing
# connections (and ZeroMQ's reconnects to itself) could take it first, and
# apart from the test bed's swtpm ports (20000-31999).
free_port() {
        local p
        for _ in $(seq 50); do
                p=$((10000 + RANDOM % 10000))
                (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
        done
        return 1
}

# issue_client PKI NAME CN: PKI/NAME-cert.crt and PKI/NAME-private.pem, a
# client certificate with subject CN from PKI's CA (made by certs/make-pki.sh).
issue_client() {
        local d=$1 n=$2
        printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$d/$n.ext"
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/$n-private.pem" 2>/dev/null
        openssl req -new -key "$d/$n-private.pem" -subj "/CN=$3" -out "$d/$n.csr"
        openssl x509 -req -in "$d/$n.csr" -CA "$d/cacert.crt" -CAkey "$d/cacert-private.pem" \
                -CAcreateserial -days 30 -sha256 -extfile "$d/$n.ext" -out "$d/$n-cert.crt" 2>/dev/null
        rm -f -- "$d/$n.csr" "$d/$n.ext"
}

# agent_conf FILE KEYLIME_DIR UUID [EXTRA TOML LINES...]: an agent.conf for the tests.
agent_conf() {
        local file=$1 dir=$2 uuid=$3
        shift 3
        mkdir -p -- "$dir"
        {
                echo "[agent]"
                echo "uuid = \"$uuid\""
                echo "keylime_dir = \"$dir\""
                echo "registrar_ip = \"127.0.0.1\""
                echo "registrar_port = $REG_PORT"
                echo "run_as = \"\""
                echo "exponential_backoff_initial_delay = 200"
                echo "exponential_backoff_max_retries = 3"
                echo "exponential_backoff_max_delay = 1000"
                printf '%s\n' "$@"
        } >"$file"
}

# tpm_lost_exit PID LOG: the agent PID (a child of this shell) has stopped, or does
# within 30 s, with a non-zero status (systemd's Restart=on-failure restarts it) and
# LOG says the TPM connection is lost; sets LOST_RC to its exit status.
tpm_lost_exit() {
        local i
        for ((i = 0; i < 300; i++)); do
                kill -0 "$1" 2>/dev/null || break
                sleep 0.1
        done
        kill -0 "$1" 2>/dev/null && fail "the agent neither recovers nor exits: $(tail -3 "$2")"
        LOST_RC=0
        wait "$1" || LOST_RC=$?
        [ "$LOST_RC" != 0 ] || fail "the agent exited 0: systemd's Restart=on-failure would not restart it"
        grep -q "connection to the TPM is lost" "$2" || fail "no log line: $(tail -3 "$2")"
}

# agent_serve TCTI CONF LOG: starts the agent in the background (AGENT_PID) and
# waits until it serves its API; fails the test if it exits or never gets there.
agent_serve() {
        TCTI=$1 KEYLIME_AGENT_CONFIG=$2 "$AGENT_BIN" >"$3" 2>&1 &
        AGENT_PID=$!
        KL_PIDS+=("$AGENT_PID")
        for _ in $(seq 100); do
                grep -q "serving the agent API" "$3" && return 0
                kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited: $(tail -5 "$3")"
                sleep 0.1
        done
        fail "agent API did not start: $(tail -5 "$3")"
}

# agent_register TCTI CONF LOG: runs the agent until it is active (or fails).
agent_register() {
        TCTI=$1 KEYLIME_AGENT_CONFIG=$2 "$AGENT_BIN" --register-only >"$3" 2>&1
}

# http_get URL OUTFILE: prints the status code.
http_get() {
        curl -s -o "$2" -w '%{http_code}' "$1"
}

# json_get FILE JQ-FILTER
json_get() {
        jq -r "$2" <"$1"
}
