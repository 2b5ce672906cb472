#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Revocation notices over ZeroMQ: an agent attested by the verifier stub
# (PCR 23 policy) listens with the PKI's RevocationNotifier certificate.
# Crafted frames (wrong certificate, forged or empty signature, truncated,
# not JSON, multi-megabyte) are dropped and run nothing; the agent keeps
# serving. The verifier stub is restarted (the agent's SUB reconnects by
# itself); then PCR 23 is extended, the stub publishes a signed notice and
# the agent's action writes the agent's UUID into a marker within seconds.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/revocation_lib.sh"

A=d432fbb3-d2f1-4a97-9ef7-75bd81c0e001
tpm_up tpm1
registrar_start reg
pki_up
actions_up
APORT=$(free_port) || fail "no free port"
# free_port stays below the ephemeral range: the agent's SUB socket retries its
# connect every 100 ms and would otherwise end up connected to itself on ZPORT.
ZPORT=$(free_port) || fail "no free port"
ZEP=tcp://127.0.0.1:$ZPORT
agent_start a "$tpm1_TCTI" "$A" "$APORT" \
        "enable_revocation_notifications = true" \
        "revocation_notification_ip = \"127.0.0.1\"" \
        "revocation_notification_port = $ZPORT" \
        "revocation_cert = \"$T/pki/RevocationNotifier-cert.crt\"" \
        "revocation_actions = \"marker_action\"" \
        "revocation_actions_dir = \"$T/actions\""
grep -q "listening for revocation notices from $ZEP" "$T/a.log" || fail "no listener: $(tail -5 "$T/a.log")"

log "crafted frames from a test publisher on $ZEP: all dropped, nothing runs"
crafted_frames "$T/frames"
for f in wrong_cert forged unsigned truncated not_json huge; do
        [ -f "$T/frames/$f" ] || continue
        "$ZMQ_PUB" "$ZEP" "$T/frames/$f" 1 100 700 || fail "kl_zmq_pub $f failed"
done
sleep 1
[ -e "$T/marker" ] && fail "a crafted frame ran an action: $(cat "$T/marker")"
n=$(grep -c "dropping a revocation notice" "$T/a.log" || true)
[ "$n" -ge 5 ] || fail "expected 5 drops, saw $n: $(grep -i revocation "$T/a.log" | tail -5)"
grep -q "signature does not verify" "$T/a.log" || fail "forged signature not reported"
kill -0 "$a_PID" || fail "agent died on crafted frames"
grep -q "disconnected; connecting again" "$T/a.log" || fail "no reconnect after the huge frame"
pass "$n crafted frames dropped (huge frame dropped by ZeroMQ), agent alive"

log "verifier stub publishes on $ZEP; agent attested with PCR 23 = 0"
VARGS=(--interval 1 --revocation-pub "$ZEP" --revocation-key "$T/pki/RevocationNotifier-private.pem"
        --revocation-cert "$T/pki/RevocationNotifier-cert.crt")
verifier_start "${VARGS[@]}"
vstub add --uuid "$A" --agent "127.0.0.1:$APORT" --pcr "sha256:23:$ZERO64" >/dev/null ||
        fail "add failed"
wait_state "$A" "Get Quote" 20 2

log "restart the verifier stub (publisher restart)"
kill "$VER_PID"
wait "$VER_PID" 2>/dev/null || true
verifier_start "${VARGS[@]}"
before=$(count "$A")
wait_state "$A" "Get Quote" 20 $((before + 2))
pass "verifier restarted, attestation continues"

log "extend PCR 23: Invalid Quote, signed notice, action runs"
t0=$(date +%s%N)
TPM2TOOLS_TCTI=$tpm1_TCTI tpm2_pcrextend "23:sha256=$(printf '%064d' 1)" ||
        fail "tpm2_pcrextend failed"
wait_marker "$A" 15
t1=$(date +%s%N)
grep -q "pcr_validation.invalid_pcr_23" "$T/marker" || fail "marker: $(cat "$T/marker")"
wait_state "$A" "Invalid Quote" 5
grep -q "revocation notice published" "$T/verifier.log" || fail "verifier did not publish"
kill -0 "$a_PID" || fail "agent died"
pass "PCR 23 extend to action marker in $(((t1 - t0) / 1000000)) ms over ZeroMQ (poll interval 1 s): $(cat "$T/marker")"
pass "revocation over ZeroMQ"
