#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Push model end to end on swtpm: an agent in push mode registers with
# mtls_cert "disabled", opens no port, authenticates with the TPM proof of
# possession and passes attestations with IMA and UEFI evidence; IMA growth
# is submitted at once (well before the interval) and only the new entries
# travel; after a verifier restart (tokens forgotten) the agent
# authenticates again and goes on; a PCR change is flagged "Invalid Quote".
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/push_lib.sh"

IMA=$TESTBED/ima-log.sh
A=d432fbb3-d2f1-4a97-9ef7-75bd81c0f001
ZERO=$(printf '%064d' 0)
tpm_up tpm1
registrar_start reg
pki_up

evidence_up 3

VPORT=$(free_port) || fail "no free port"
PPORT=$(free_port) || fail "no free port"
# agents push to their own listener (no client certificates); the API stays mTLS
VER_PUSH_URL=https://127.0.0.1:$PPORT
verifier_start --mode push --interval 0.5 --listen "127.0.0.1:$VPORT" --push-listen "127.0.0.1:$PPORT"

log "push agent: registers, opens no port"
push_agent_start a "$tpm1_TCTI" "$A" "attestation_interval_seconds = 6" \
        "ima_ml_path = \"$T/ima.log\"" "measuredboot_ml_path = \"$T/uefi.bin\""
wait_log "$T/a.log" "push mode: no port opened"
wait_log "$T/a.log" "activated at the registrar"
[ "$(reg_get "/v2.6/agents/$A" "$T/reg.json")" = 200 ] || fail "registrar has no record of $A"
[ "$(jq -r .results.mtls_cert "$T/reg.json")" = disabled ] ||
        fail "push agent registered mtls_cert '$(jq -r .results.mtls_cert "$T/reg.json")'"
if ss -Hltnp 2>/dev/null | grep -q "pid=$a_PID,"; then
        fail "push agent listens: $(ss -Hltnp | grep "pid=$a_PID,")"
fi
pass "registered with mtls_cert \"disabled\", no listening socket"

log "not enrolled yet: refused with a JSON:API 404, the agent waits"
wait_log "$T/a.log" "HTTP 404: No enrolled agent"
vstub add --uuid "$A" --agent 127.0.0.1:1 --pcr "sha256:23:$ZERO" \
        --ima-policy "$T/ima-policy.json" --mb-policy "$T/mb-policy.json" >/dev/null ||
        fail "add failed"
wait_state "$A" "Get Quote" 30 3
grep -q "authenticated to the verifier with the TPM proof of possession" "$T/a.log" ||
        fail "no PoP session in the agent log"
grep -q "attestation 0 created (PCRs 0x8004ff, IMA from 0)" "$T/verifier.log" ||
        fail "first attestation did not ask PCRs 0-7, 10, 23 from IMA entry 0"
grep -q "IMA from 3)" "$T/verifier.log" || fail "later attestations do not go on after entry 3"
grep -q "accepted by the verifier (evaluation pass), 0 IMA entries from 3" "$T/a.log" ||
        fail "steady state should send no IMA entries: $(grep accepted "$T/a.log" | tail -2)"
pass "3 attestations passed (quote, IMA, UEFI), IMA incremental"

log "IMA grows: submitted at once, only the new entry"
before=$(count "$A")
cat "$T/ima-next.log" >>"$T/ima.log"
bash "$IMA" extend "$tpm1_DIR" "$T/ima.log" 3
t0=$(date +%s%N)
for ((i = 0; i < 40; i++)); do
        [ "$(count "$A")" -gt "$before" ] && break
        sleep 0.1
done
t1=$(date +%s%N)
[ "$(count "$A")" -gt "$before" ] || fail "no attestation within 4 s of the IMA event"
[ $(((t1 - t0) / 1000000)) -lt 3000 ] || fail "early submission took $(((t1 - t0) / 1000000)) ms"
grep -q "IMA log grew (3 -> 4 entries): attesting now" "$T/a.log" || fail "no IMA trigger logged"
wait_log "$T/a.log" "1 IMA entries from 3"
pass "IMA event reached the verifier in $(((t1 - t0) / 1000000)) ms (interval 6 s), 1 entry sent"

log "verifier restart: tokens are gone, the agent authenticates again"
kill "$VER_PID"
wait "$VER_PID" 2>/dev/null || true
before=$(jq -r .attestation_count "$T/status.json")
verifier_start --mode push --interval 0.5 --listen "127.0.0.1:$VPORT" --push-listen "127.0.0.1:$PPORT"
wait_log "$T/a.log" "authenticating again" 20
wait_log "$T/a.log" "authenticated to the verifier with the TPM proof" 20 2
wait_state "$A" "Get Quote" 20 $((before + 1))
pass "re-authenticated after the restart, attestations go on"

log "PCR 23 changes: flagged at once"
TPM2TOOLS_TCTI=$tpm1_TCTI tpm2_pcrextend "23:sha256=$(printf '%064d' 1)" ||
        fail "tpm2_pcrextend failed"
wait_state "$A" "Invalid Quote" 10
jq -r .last_failure "$T/status.json" | grep -q "PCR 23" ||
        fail "failure does not name PCR 23: $(jq -r .last_failure "$T/status.json")"
grep -q "PCR 23 changed: attesting now" "$T/a.log" || fail "PCR trigger not logged"
wait_log "$T/a.log" "HTTP 403: Attestations for agent" 10
pass "PCR change flagged: $(jq -r .last_failure "$T/status.json")"
