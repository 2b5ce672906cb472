#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Push model over TLS: the agent verifies the verifier's server certificate
# against verifier_tls_ca_cert. With a CA that did not issue it, every
# attempt fails with a clear error naming the URL, curl's reason and the CA
# file, and nothing is sent; with the right CA the TLS handshake succeeds (an
# openssl s_server stands in for the verifier, so this needs no verifier).
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/push_lib.sh"

A=d432fbb3-d2f1-4a97-9ef7-75bd81c0f002
B=d432fbb3-d2f1-4a97-9ef7-75bd81c0f003
command -v openssl >/dev/null || fail "openssl not found"
tpm_up tpm1
tpm_up tpm2
registrar_start reg
pki_up
"$KL_SOURCE_DIR/certs/make-pki.sh" "$T/other" 2>/dev/null || fail "make-pki.sh failed"

SPORT=$(free_port) || fail "no free port"
openssl s_server -quiet -www -accept "$SPORT" -cert "$T/pki/server-cert.crt" \
        -key "$T/pki/server-private.pem" >"$T/s_server.log" 2>&1 &
KL_PIDS+=("$!")
for ((i = 0; i < 50; i++)); do
        (: <"/dev/tcp/127.0.0.1/$SPORT") 2>/dev/null && break
        sleep 0.1
done

log "wrong CA: a clear error, retried every interval"
VER_URL=https://127.0.0.1:$SPORT VER_PUSH_URL=https://127.0.0.1:$SPORT
push_agent_start a "$tpm1_TCTI" "$A" "attestation_interval_seconds = 1" \
        "verifier_tls_ca_cert = \"$T/other/cacert.crt\""
wait_log "$T/a.log" "cannot reach the verifier at https://127.0.0.1:$SPORT/v3.0/sessions: SSL certificate problem" 30 2
grep "cannot reach the verifier" "$T/a.log" | tail -1 | grep -q "verifier_tls_ca_cert = $T/other/cacert.crt" ||
        fail "the error does not name the CA file: $(grep 'cannot reach' "$T/a.log" | tail -1)"
kill "$a_PID"
wait "$a_PID" 2>/dev/null || true
pass "wrong CA: $(grep 'cannot reach the verifier' "$T/a.log" | tail -1 | sed 's/.*ERROR: //' | cut -c1-160)"

log "right CA: the handshake passes (s_server then never answers the POST: a timeout)"
push_agent_start b "$tpm2_TCTI" "$B" "attestation_interval_seconds = 1" \
        "verifier_tls_ca_cert = \"$T/pki/cacert.crt\""
wait_log "$T/b.log" "POST /sessions: \|verifier at .* not reachable\|cannot reach the verifier" 90
grep -q "SSL certificate problem" "$T/b.log" && fail "TLS failed with the right CA"
pass "right CA: TLS verified"
