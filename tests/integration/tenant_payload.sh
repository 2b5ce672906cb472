#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The tenant role of the verifier stub: `add --payload DIR` checks the
# agent's identity quote, sends U with the zipped, encrypted payload, hands
# V to the verifier, which releases it after the first good quote; the
# agent's autorun.sh runs and /keys/verify proves the agent derived K. With
# a wrong key file (U != K xor V) nothing is sent. The verifier's revocation
# certificate travels in the payload (as upstream's tenant --cert does), and
# the agent verifies the notice sent when PCR 23 changes with it.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/revocation_lib.sh"

UUID=6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0
tpm_up tpm1
registrar_start reg
pki_up
actions_up
APORT=$(free_port) || fail "no free port"
# revocation_cert stays the default: <keylime_dir>/secure/unzipped/RevocationNotifier-cert.crt
agent_start agent "$tpm1_TCTI" "$UUID" "$APORT" \
        "revocation_actions = \"marker_action\"" "revocation_actions_dir = \"$T/actions\""
verifier_start --interval 1 --revocation-pub "" --revocation-rest \
        --revocation-key "$T/pki/RevocationNotifier-private.pem" \
        --revocation-cert "$T/pki/RevocationNotifier-cert.crt"
AGENT_DIR=$T/agent

mkdir -p "$T/payload"
cat >"$T/payload/autorun.sh" <<SCRIPT
#!/bin/sh
echo "payload ran in \$(pwd)" > "$T/marker"
SCRIPT
chmod +x "$T/payload/autorun.sh"
echo "a secret config" >"$T/payload/app.conf"

log "add --payload: identity quote, U + payload to the agent, V to the verifier"
vstub add --uuid "$UUID" --agent "127.0.0.1:$APORT" --registrar "$REG_TLS_URL" \
        --client-cert "$T/pki/client-cert.crt" --client-key "$T/pki/client-private.pem" --pcr "sha256:23:$(printf '%064d' 0)" \
        --payload "$T/payload" --revocation-cert "$T/pki/RevocationNotifier-cert.crt" \
        >"$T/add.out" 2>"$T/add.err" ||
        fail "tenant add failed: $(cat "$T/add.out" "$T/add.err")"
grep -q "identity quote of $UUID verified" "$T/add.out" || fail "no identity check: $(cat "$T/add.out")"
grep -q "OK: the agent derived K" "$T/add.out" || fail "K not verified: $(cat "$T/add.out")"
wait_for_file "$T/marker" 20 || fail "autorun.sh did not run: $(tail -5 "$T/agent.log")"
grep -q "payload ran in .*secure/unzipped" "$T/marker" || fail "script ran elsewhere: $(cat "$T/marker")"
[ "$(cat "$AGENT_DIR/secure/unzipped/app.conf")" = "a secret config" ] ||
        fail "payload file not unpacked"
grep -q "V delivered after the first good quote" "$T/verifier.log" || fail "verifier did not release V"
wait_state "$UUID" "Get Quote" 20 2
cmp -s "$AGENT_DIR/secure/unzipped/RevocationNotifier-cert.crt" "$T/pki/RevocationNotifier-cert.crt" ||
        fail "the revocation certificate did not arrive with the payload"
pass "payload delivered after the first good quote; /keys/verify OK"

log "PCR 23 changes: the notice is verified with the certificate from the payload"
TPM2TOOLS_TCTI=$tpm1_TCTI tpm2_pcrextend "23:sha256=$(printf '%064d' 1)" || fail "pcrextend"
wait_marker "$UUID" 20
grep -q "pcr_validation.invalid_pcr_23" "$T/marker" || fail "marker: $(cat "$T/marker")"
pass "revocation action ran: $(cat "$T/marker")"

log "a key file whose U is not K xor V is refused before anything is sent"
k=$(head -c 32 /dev/urandom | base64 -w0)
printf '%s\n%s\n%s\n' "$k" "$k" "$k" >"$T/bad.keys"
if vstub add --uuid "$UUID" --agent "127.0.0.1:$APORT" --registrar "$REG_TLS_URL" --client-cert "$T/pki/client-cert.crt" \
        --client-key "$T/pki/client-private.pem" --payload "$T/payload" --key "$T/bad.keys" \
        >"$T/add2.out" 2>"$T/add2.err"; then
        fail "a bad key file was accepted"
fi
grep -q "bad --key file" "$T/add2.err" || fail "no clear message: $(cat "$T/add2.err")"
pass "bad key file refused"
