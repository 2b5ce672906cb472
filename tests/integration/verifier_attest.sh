#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The verifier stub attesting a real agent on swtpm over mTLS: good quotes
# keep "Get Quote" and a rising attestation_count; an extended PCR 23 turns
# it into "Invalid Quote" naming PCR 23; a quote signed by another TPM's AK
# is an "Invalid Quote" for its signature, never a log line only; an agent
# restart is ridden out by retries and attestation resumes.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"

A=d432fbb3-d2f1-4a97-9ef7-75bd81c0a001
B=d432fbb3-d2f1-4a97-9ef7-75bd81c0b002
tpm_up tpm1
tpm_up tpm2 own
registrar_start reg
pki_up
APORT=$(free_port) || fail "no free port"
agent_start a "$tpm1_TCTI" "$A" "$APORT"
verifier_start --interval 1

log "add agent A with PCR 23 = 0: Get Quote, attestation_count rising"
vstub add --uuid "$A" --agent "127.0.0.1:$APORT" --pcr "sha256:23:$ZERO64" >/dev/null ||
        fail "add failed"
wait_state "$A" "Get Quote" 20 3
c1=$(count "$A")
sleep 3
c2=$(count "$A")
[ "$c2" -ge $((c1 + 2)) ] || fail "attestation_count did not rise: $c1 then $c2"
jq -e '.last_failure == null and .api_version == "2.6"' "$T/status.json" >/dev/null ||
        fail "unexpected status: $(cat "$T/status.json")"
grep -q "partial=0" "$T/verifier.log" || fail "first quote not asked with partial=0"
grep -q "partial=1" "$T/verifier.log" || fail "later quotes not asked with partial=1"
grep -q "ima_ml_entry" "$T/verifier.log" && fail "ima_ml_entry asked without an IMA policy"
us=$(grep -o 'quote verified in [0-9]* us' "$T/verifier.log" | awk '{s += $4; n++} END {print int(s / n)}')
pass "A attested $c2 times; mean verification $us us per quote"

log "extend PCR 23 on A's TPM: Invalid Quote naming PCR 23"
TPM2TOOLS_TCTI=$tpm1_TCTI tpm2_pcrextend "23:sha256=$(printf '%064d' 1)" ||
        fail "tpm2_pcrextend failed"
wait_state "$A" "Invalid Quote" 10
jq -r .last_failure "$T/status.json" | grep -q "PCR 23" ||
        fail "reason does not name PCR 23: $(cat "$T/status.json")"
n1=$(count "$A")
sleep 2.5
[ "$(count "$A")" = "$n1" ] || fail "an agent in Invalid Quote is still attested"
pass "Invalid Quote: $(jq -r .last_failure "$T/status.json")"

log "B registered with tpm2's AK, but its address is A's: Invalid Quote (signature)"
# B presents A's TLS certificate, so the pinned TLS check passes and only the AK differs.
mkdir -p "$T/b"
cp "$T/a/server-cert.crt" "$T/a/server-private.pem" "$T/b/"
agent_conf "$T/b.conf" "$T/b" "$B" "port = $(free_port)"
agent_register "$tpm2_TCTI" "$T/b.conf" "$T/b.log" || fail "B did not register: $(tail -5 "$T/b.log")"
vstub add --uuid "$B" --agent "127.0.0.1:$APORT" >/dev/null || fail "add B failed"
wait_state "$B" "Invalid Quote" 15
jq -r .last_failure "$T/status.json" | grep -q "signature" ||
        fail "reason does not name the signature: $(cat "$T/status.json")"
[ "$(jq -r .attestation_count "$T/status.json")" = 0 ] || fail "B was counted as attested"
pass "foreign AK: $(jq -r .last_failure "$T/status.json")"

log "re-add A with the new PCR 23, restart the agent: attestation resumes"
p23=$(TPM2TOOLS_TCTI=$tpm1_TCTI tpm2_pcrread sha256:23 | sed -n 's/.*23 *: *0x//p' | tr 'A-F' 'a-f')
[ ${#p23} = 64 ] || fail "cannot read PCR 23"
vstub add --uuid "$A" --agent "127.0.0.1:$APORT" --pcr "sha256:23:$p23" >/dev/null ||
        fail "re-add failed"
wait_state "$A" "Get Quote" 20 2
kill "$a_PID"
wait "$a_PID" 2>/dev/null || true
sleep 1
AGENT_STARTS=2 agent_start a "$tpm1_TCTI" "$A" "$APORT"
before=$(count "$A")
wait_state "$A" "Get Quote" 40 $((before + 3))
grep -q "retry 1 of" "$T/verifier.log" || fail "the restart did not go through a retry"
pass "attestation resumed after the agent restart ($(jq -r .attestation_count "$T/status.json") quotes)"

log "list and delete"
curl -s "${STUB_TLS[@]}" "$VER_URL/v2.6/agents/" | jq -e --arg a "$A" --arg b "$B" '(.results.uuids | sort) == ([$a, $b] | sort)' \
        >/dev/null || fail "list: $(curl -s "${STUB_TLS[@]}" "$VER_URL/v2.6/agents/")"
vstub delete --uuid "$A" >/dev/null || fail "delete failed"
vstatus "$A" && fail "A still known after delete"
grep -q "404" "$T/status.err" || fail "status after delete: $(cat "$T/status.err")"
kill -0 "$VER_PID" || fail "verifier died"
pass "verifier stub attestation flow"
