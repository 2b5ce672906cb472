# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Helpers shared by the verifier stub tests: start agents with mTLS, start
# the verifier, and wait for an agent's state. Sourced after lib.sh.
VERIFIER_BIN=$KL_BUILD_DIR/verifier-stub/keylime_verifier_stub

# pki_up: the throwaway PKI in $T/pki (verifier client certificate, CA for agents).
pki_up() {
        stub_pki_up
}

# agent_start NAME TCTI UUID PORT [EXTRA TOML LINES...]: an agent serving mTLS with the
# PKI's CA as trusted_client_ca; sets NAME_PID. Keylime dir $T/NAME, log $T/NAME.log.
agent_start() {
        local name=$1 tcti=$2 uuid=$3 port=$4 pid i
        shift 4
        mkdir -p "$T/$name/cv_ca"
        cp "$T/pki/cacert.crt" "$T/$name/cv_ca/cacert.crt"
        agent_conf "$T/$name.conf" "$T/$name" "$uuid" "port = $port" "$@"
        TCTI=$tcti KEYLIME_AGENT_CONFIG=$T/$name.conf "$AGENT_BIN" >>"$T/$name.log" 2>&1 &
        pid=$!
        KL_PIDS+=("$pid")
        printf -v "${name}_PID" '%s' "$pid"
        for ((i = 0; i < 150; i++)); do
                [ "$(grep -c "serving the agent API" "$T/$name.log")" -ge "${AGENT_STARTS:-1}" ] &&
                        return 0
                kill -0 "$pid" 2>/dev/null || fail "agent $name exited: $(tail -5 "$T/$name.log")"
                sleep 0.1
        done
        fail "agent $name API did not start: $(tail -5 "$T/$name.log")"
}

# VER_TLS: the verifier's options for the PKI (its CA, the client certificate).
VER_TLS=(--ca "$T/pki/cacert.crt" --client-cert "$T/pki/client-cert.crt"
        --client-key "$T/pki/client-private.pem")

# verifier_start [ARGS...]: serve on a free port (mTLS, the PKI's server certificate)
# reading the registrar's mTLS listener; sets VER_URL and VER_PID. Log $T/verifier.log.
verifier_start() {
        local push=() a
        stub_pki_up
        # --mode push: the agents' listener too (free port unless given); sets VER_PUSH_URL
        for a in "$@"; do
                [ "$a" = push ] && push=(--push-port-file "$T/verifier.pushport")
        done
        if [ ${#push[@]} -gt 0 ] && [[ " $* " != *" --push-listen "* ]]; then
                push+=(--push-listen 127.0.0.1:0)
        fi
        rm -f -- "$T/verifier.port" "$T/verifier.pushport"
        "$VERIFIER_BIN" serve --listen 127.0.0.1:0 --port-file "$T/verifier.port" "${push[@]}" \
                --db "$T/verifier.sqlite" --registrar "$REG_TLS_URL" "${VER_TLS[@]}" \
                --tls-cert "$T/pki/server-cert.crt" --tls-key "$T/pki/server-private.pem" \
                --log-level debug "$@" >>"$T/verifier.log" 2>&1 &
        VER_PID=$!
        KL_PIDS+=("$VER_PID")
        wait_for_file "$T/verifier.port" 10 || fail "verifier did not start: $(tail -5 "$T/verifier.log")"
        VER_URL=https://127.0.0.1:$(cat "$T/verifier.port")
        if [ ${#push[@]} -gt 0 ]; then
                wait_for_file "$T/verifier.pushport" 10 || fail "no push listener: $(tail -5 "$T/verifier.log")"
                VER_PUSH_URL=https://127.0.0.1:$(cat "$T/verifier.pushport")
        fi
}

# vstub CMD [ARGS...]: a verifier subcommand against the running verifier.
vstub() {
        local cmd=$1
        shift
        "$VERIFIER_BIN" "$cmd" --verifier "$VER_URL" "${VER_TLS[@]}" "$@"
}

# vstatus UUID: the status object (one JSON line) into $T/status.json.
vstatus() {
        vstub status --uuid "$1" >"$T/status.json" 2>"$T/status.err" || return 1
}

# wait_state UUID STATE [SECONDS] [MIN-COUNT]: until operational_state is STATE (and
# attestation_count >= MIN-COUNT); fails with the last status otherwise.
wait_state() {
        local uuid=$1 want=$2 secs=${3:-20} min=${4:-0} i
        for ((i = 0; i < secs * 5; i++)); do
                if vstatus "$uuid"; then
                        if [ "$(jq -r .operational_state "$T/status.json")" = "$want" ] &&
                                [ "$(jq -r .attestation_count "$T/status.json")" -ge "$min" ]; then
                                return 0
                        fi
                fi
                sleep 0.2
        done
        fail "agent $uuid not in '$want' (count >= $min) after ${secs}s: $(cat "$T/status.json" 2>/dev/null)"
}

# count UUID: attestation_count now.
count() {
        vstatus "$1" || fail "status of $1 failed: $(cat "$T/status.err")"
        jq -r .attestation_count "$T/status.json"
}

ZERO64=$(printf '%064d' 0)

# evidence_up N: a synthetic IMA log of N entries in $T/ima.log, extended into tpm1's PCR 10,
# one more entry in $T/ima-next.log (not extended) and a runtime policy allowing all N+1 in
# $T/ima-policy.json; the Keylime UEFI log replayed into PCRs 0-7 as $T/uefi.bin with its
# measured-boot policy in $T/mb-policy.json.
evidence_up() {
        local n=$1 i
        for i in $(seq "$n"); do
                bash "$TESTBED/ima-log.sh" entry "/usr/bin/file$i" "$(printf '%064d' "$i")"
        done >"$T/ima.log"
        bash "$TESTBED/ima-log.sh" entry "/usr/bin/file$((n + 1))" "$(printf '%064d' $((n + 1)))" \
                >"$T/ima-next.log"
        cat "$T/ima.log" "$T/ima-next.log" >"$T/ima-all.log"
        bash "$TESTBED/ima-log.sh" policy "$T/ima-all.log" >"$T/ima-policy.json"
        bash "$TESTBED/ima-log.sh" extend "$tpm1_DIR" "$T/ima.log"
        cp "$KL_SOURCE_DIR/tests/data/uefi/uefi_log.bin" "$T/uefi.bin"
        bash "$TESTBED/uefi-log.sh" replay "$tpm1_DIR" "$T/uefi.bin" || fail "uefi-log.sh replay failed"
        KL_BUILD_DIR=$KL_BUILD_DIR bash "$TESTBED/uefi-log.sh" policy "$T/uefi.bin" >"$T/mb-policy.json" ||
                fail "uefi-log.sh policy failed"
}
