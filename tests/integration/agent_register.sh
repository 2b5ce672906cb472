#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent registers and activates at the registrar stub on a software TPM;
# a restart keeps its ID and AK and is accepted; a wrong auth tag leaves the
# agent inactive (and deleted, as upstream); hash_ek IDs and ECC keys work.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

UUID=d432fbb3-d2f1-4a97-9ef7-75bd81c00000
tpm_up tpm1
registrar_start reg --ek-ca-dir "$tpm1_EK_CA_DIR" --require-ek-cert

log "first start registers and activates"
agent_conf "$T/agent.conf" "$T/kl" "$UUID"
agent_register "$tpm1_TCTI" "$T/agent.conf" "$T/agent1.log" ||
        fail "agent did not register: $(tail -5 "$T/agent1.log")"
[ "$(reg_get "/v2.6/agents/$UUID" "$T/get1.json")" = 200 ] ||
        fail "registrar does not show the agent as active: $(cat "$T/get1.json")"
[ "$(json_get "$T/get1.json" .results.agent_id)" = "$UUID" ] || fail "wrong agent_id"
[ "$(json_get "$T/get1.json" .results.regcount)" = 1 ] || fail "regcount is not 1"
[ "$(json_get "$T/get1.json" .results.port)" = 9002 ] || fail "contact port not registered"
json_get "$T/get1.json" .results.mtls_cert | grep -q 'BEGIN CERTIFICATE' ||
        fail "mtls_cert is not the agent's certificate"
json_get "$T/get1.json" .results.ekcert | base64 -d | openssl x509 -inform der -noout ||
        fail "ekcert is not a DER certificate"
[ "$(stat -c %a "$T/kl/agent_data.json")" = 600 ] || fail "agent_data.json is not 0600"
[ "$(stat -c %a "$T/kl/server-private.pem")" = 600 ] || fail "TLS key is not 0600"
for step in "EK loaded" "EK certificate" "AK created" "registered agent" "activated"; do
        grep -q "$step" "$T/agent1.log" || fail "agent log lacks step '$step'"
done
pass "registered and active; agent data and TLS key persisted"

log "restart keeps the ID and the AK and is accepted"
aik1=$(json_get "$T/get1.json" .results.aik_tpm)
agent_register "$tpm1_TCTI" "$T/agent.conf" "$T/agent2.log" ||
        fail "restarted agent was refused: $(tail -5 "$T/agent2.log")"
grep -q "AK loaded from agent data" "$T/agent2.log" || fail "restart did not reuse the AK"
reg_get "/v2.6/agents/$UUID" "$T/get2.json" >/dev/null
[ "$(json_get "$T/get2.json" .results.aik_tpm)" = "$aik1" ] || fail "AK changed on restart"
[ "$(json_get "$T/get2.json" .results.regcount)" = 2 ] || fail "regcount is not 2"
pass "restart re-registered the same identity"

log "a re-registration and a wrong auth tag leave an active agent active"
jq '.results | {aik_tpm, ek_tpm, ekcert, mtls_cert, ip, port}' "$T/get2.json" >"$T/rereg.json"
code=$(curl -s -o "$T/rereg-out.json" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data @"$T/rereg.json" "$REG_URL/v2.6/agents/$UUID")
[ "$code" = 200 ] || fail "re-registration with the same identity answered $code"
[ "$(reg_get "/v2.6/agents/$UUID" "$T/get3.json")" = 200 ] ||
        fail "re-registering the same identity made the agent inactive"
bad_tag=$(printf '%096d' 0)
code=$(curl -s -o "$T/tag.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
        --data "{\"auth_tag\":\"$bad_tag\"}" "$REG_URL/v2.6/agents/$UUID")
[ "$code" = 400 ] || fail "wrong auth tag answered $code"
grep -q "stays active" "$T/tag.json" || fail "wrong auth tag: $(cat "$T/tag.json")"
[ "$(reg_get "/v2.6/agents/$UUID" "$T/get4.json")" = 200 ] ||
        fail "a failed activation removed or deactivated an active agent"
jq '.mtls_cert = "disabled"' "$T/rereg.json" >"$T/repoint.json"
code=$(curl -s -o "$T/repoint-out.json" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data @"$T/repoint.json" "$REG_URL/v2.6/agents/$UUID")
[ "$code" = 403 ] || fail "re-pointing an active agent's mtls_cert answered $code"
pass "wrong auth tag refused, agent stays active; its mtls_cert cannot be re-pointed"

log "uuid = hash_ek gives the SHA-256 of the EK public key PEM"
agent_conf "$T/agent-hash.conf" "$T/kl-hash" hash_ek
agent_register "$tpm1_TCTI" "$T/agent-hash.conf" "$T/agent-hash.log" ||
        fail "hash_ek agent did not register: $(tail -5 "$T/agent-hash.log")"
id=$(sed -n 's/.*agent ID \([0-9a-f]\{64\}\).*/\1/p' "$T/agent-hash.log" | head -1)
[ -n "$id" ] || fail "no 64-hex agent ID in the log"
expected=$(openssl x509 -in "$KL_TPM_EK_CERT_RSA" -noout -pubkey | sha256sum | cut -d' ' -f1)
[ "$id" = "$expected" ] || fail "hash_ek ID $id != sha256(EK PEM) $expected"
[ "$(reg_get "/v2.6/agents/$id" "$T/get5.json")" = 200 ] || fail "hash_ek agent not active"
pass "hash_ek ID matches the EK certificate's key"

log "ECC EK and ECDSA AK"
agent_conf "$T/agent-ecc.conf" "$T/kl-ecc" 2b4f3e4c-0d9e-4a44-8e4a-6e2f9a1b0c01 \
        'tpm_encryption_alg = "ecc"' 'tpm_signing_alg = "ecdsa"'
agent_register "$tpm1_TCTI" "$T/agent-ecc.conf" "$T/agent-ecc.log" ||
        fail "ECC agent did not register: $(tail -5 "$T/agent-ecc.log")"
reg_get "/v2.6/agents/2b4f3e4c-0d9e-4a44-8e4a-6e2f9a1b0c01" "$T/get6.json" >/dev/null
json_get "$T/get6.json" .results.ekcert | base64 -d | openssl x509 -inform der -noout -text |
        grep -q 'id-ecPublicKey' || fail "ECC agent did not send the ECC EK certificate"
pass "ECC identity registered"
