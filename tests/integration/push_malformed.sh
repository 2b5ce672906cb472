#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The verifier stub's push routes (API 3.0) refuse bad input with JSON:API
# error objects and a 4xx, never crash: malformed bodies, a wrong media type,
# missing or forged bearer tokens, unknown paths; a session's challenge is
# answered once (a replayed proof finds no session). No TPM needed.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/push_lib.sh"

A=d432fbb3-d2f1-4a97-9ef7-75bd81c0f004
registrar_start reg
pki_up
verifier_start --mode push --interval 0.5
BASE=${VER_PUSH_URL:-$VER_URL}

# push_call METHOD PATH BODY [CURL ARGS...]: prints the status, body in $T/out.
push_call() {
        local method=$1 path=$2 body=$3
        shift 3
        curl -s --cacert "$T/pki/cacert.crt" -o "$T/out" -w '%{http_code}' -X "$method" \
                -H "Content-Type: ${CT:-application/vnd.api+json}" "$@" --data-binary "$body" \
                "$BASE$path"
}

# expect CODE DETAIL-PATTERN METHOD PATH BODY [CURL ARGS...]
expect() {
        local code=$1 pat=$2 got
        shift 2
        got=$(push_call "$@")
        [ "$got" = "$code" ] || fail "$1 $2: HTTP $got, expected $code: $(cat "$T/out")"
        [ "$(jq -r '.errors[0].status' "$T/out")" = "$code" ] ||
                fail "$1 $2: no JSON:API error object: $(cat "$T/out")"
        jq -r '.errors[0].detail' "$T/out" | grep -q -- "$pat" ||
                fail "$1 $2: detail does not say '$pat': $(cat "$T/out")"
}

SESSION='{"data":{"type":"session","attributes":{"agent_id":"'$A'","authentication_supported":[{"authentication_class":"pop","authentication_type":"tpm_pop"}]}}}'
expect 400 "not a JSON object" POST /v3.0/sessions '{"data":'
expect 400 "data.type" POST /v3.0/sessions '{"data":{"type":"attestation","attributes":{}}}'
expect 400 "tpm_pop" POST /v3.0/sessions '{"data":{"type":"session","attributes":{"agent_id":"'$A'","authentication_supported":[]}}}'
expect 400 "agent_id" POST /v3.0/sessions '{"data":{"type":"session","attributes":{"agent_id":"../x","authentication_supported":[]}}}'
CT=text/plain expect 415 "Content-Type" POST /v3.0/sessions "$SESSION"
expect 404 "Not Found" GET /v3.0/nothing ""
expect 401 "bearer token" POST "/v3.0/agents/$A/attestations" '{}'
expect 401 "token is unknown" POST "/v3.0/agents/$A/attestations" '{}' \
        -H "Authorization: Bearer 00000000-0000-4000-8000-000000000000.00"
expect 401 "token is unknown" PATCH "/v3.0/agents/$A/attestations/latest" '{}' \
        -H "Authorization: Bearer forged"
expect 400 "Invalid agent ID" POST "/v3.0/agents/bad%20id/attestations" '{}'
pass "malformed requests: 400/401/404/415 with JSON:API error objects"

log "a challenge is answered once"
[ "$(push_call POST /v3.0/sessions "$SESSION")" = 200 ] || fail "session: $(cat "$T/out")"
SID=$(jq -r .data.id "$T/out")
jq -r '.data.attributes.authentication_requested[0].chosen_parameters.challenge' "$T/out" |
        base64 -d >/dev/null || fail "challenge is not base64: $(cat "$T/out")"
PROOF='{"data":{"type":"session","id":"'$SID'","attributes":{"agent_id":"'$A'","authentication_provided":[{"authentication_class":"pop","authentication_type":"tpm_pop","data":{"message":"/1RDR4AX","signature":"ABQACw=="}}]}}}'
expect 400 "message and signature" PATCH "/v3.0/sessions/$SID" '{"data":{"type":"session","attributes":{"agent_id":"'$A'","authentication_provided":[{"authentication_type":"tpm_pop","data":{}}]}}}'
expect 404 "No enrolled agent" PATCH "/v3.0/sessions/$SID" "$PROOF"
expect 404 "Session not found" PATCH "/v3.0/sessions/$SID" "$PROOF"
kill -0 "$VER_PID" || fail "the verifier stub died"
pass "the proof was answered once; a replay finds no session; the stub is still up"
