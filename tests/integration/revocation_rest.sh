#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Revocation notices over REST, ZeroMQ off on both sides: the agent answers
# POST /v2.x/notifications/revocation with 400 for a body without string
# msg and signature, 200 for a well-formed body, and acts only on one signed
# with the RevocationNotifier key; the verifier stub (--revocation-rest) POSTs
# its notice over mTLS to every agent it knows when PCR 23 changes.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/revocation_lib.sh"

A=d432fbb3-d2f1-4a97-9ef7-75bd81c0e002
tpm_up tpm1
registrar_start reg
pki_up
actions_up
APORT=$(free_port) || fail "no free port"
agent_start a "$tpm1_TCTI" "$A" "$APORT" \
        "enable_revocation_notifications = false" \
        "revocation_cert = \"$T/pki/RevocationNotifier-cert.crt\"" \
        "revocation_actions = \"marker_action\"" \
        "revocation_actions_dir = \"$T/actions\""
grep -q "listening for revocation notices" "$T/a.log" && fail "ZeroMQ listener started while disabled"

# post BODY-FILE: POST to the agent with the verifier's client certificate; prints the status.
post() {
        curl -s -k --cert "$T/pki/client-cert.crt" --key "$T/pki/client-private.pem" \
                -H 'Content-Type: application/json' --data-binary "@$1" -o "$T/post.out" \
                -w '%{http_code}' "https://127.0.0.1:$APORT/v2.6/notifications/revocation"
}

log "malformed bodies: 400; well-formed but wrongly signed: 200 and dropped"
crafted_frames "$T/frames"
printf '{"msg": "x"}' >"$T/frames/no_sig"
printf '{"signature": ""}' >"$T/frames/no_msg"
printf '{"msg": 1, "signature": ""}' >"$T/frames/msg_not_string"
for f in no_sig no_msg msg_not_string truncated not_json; do
        code=$(post "$T/frames/$f")
        [ "$code" = 400 ] || fail "$f: HTTP $code $(cat "$T/post.out")"
done
for f in wrong_cert forged unsigned; do
        code=$(post "$T/frames/$f")
        [ "$code" = 200 ] || fail "$f: HTTP $code $(cat "$T/post.out")"
        jq -e '.results == null' "$T/post.out" >/dev/null || fail "$f: $(cat "$T/post.out")"
done
sleep 1
[ -e "$T/marker" ] && fail "a wrongly signed notice ran an action: $(cat "$T/marker")"
n=$(grep -c "dropping a revocation notice" "$T/a.log" || true)
[ "$n" -ge 3 ] || fail "expected 3 drops, saw $n"
code=$(curl -s -k -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "@$T/frames/wrong_cert" "https://127.0.0.1:$APORT/v2.6/notifications/revocation" || true)
[ "$code" = 200 ] && fail "a POST without a client certificate was accepted"
pass "REST input checks; $n wrongly signed notices dropped"

log "verifier stub with --revocation-rest; PCR 23 extended: notice POSTed, action runs"
verifier_start --interval 1 --revocation-pub "" --revocation-rest \
        --revocation-key "$T/pki/RevocationNotifier-private.pem" \
        --revocation-cert "$T/pki/RevocationNotifier-cert.crt"
grep -q "publishing revocation notices" "$T/verifier.log" && fail "ZeroMQ not disabled by --revocation-pub \"\""
vstub add --uuid "$A" --agent "127.0.0.1:$APORT" --pcr "sha256:23:$ZERO64" >/dev/null ||
        fail "add failed"
wait_state "$A" "Get Quote" 20 2
t0=$(date +%s%N)
TPM2TOOLS_TCTI=$tpm1_TCTI tpm2_pcrextend "23:sha256=$(printf '%064d' 1)" ||
        fail "tpm2_pcrextend failed"
wait_marker "$A" 15
t1=$(date +%s%N)
grep -q "pcr_validation.invalid_pcr_23" "$T/marker" || fail "marker: $(cat "$T/marker")"
grep -q "revocation notice delivered over REST" "$T/verifier.log" || fail "verifier did not log delivery"
code=$(curl -s -k --cert "$T/pki/client-cert.crt" --key "$T/pki/client-private.pem" -o /dev/null \
        -w '%{http_code}' "https://127.0.0.1:$APORT/version")
[ "$code" = 200 ] || fail "agent stopped serving: HTTP $code"
pass "PCR 23 extend to action marker in $(((t1 - t0) / 1000000)) ms over REST (poll interval 1 s): $(cat "$T/marker")"
pass "revocation over REST"
