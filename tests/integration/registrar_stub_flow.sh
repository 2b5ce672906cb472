#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Registrar stub flow with fixed inputs (the upstream docs example: a real
# ek_tpm, its matching ekcert and an aik_tpm), no TPM needed: register →
# MakeCredential blob; wrong auth tag deletes the record; a different AK under
# the same ID is refused (403); EK certificate mismatch, --require-ek-cert and
# --ek-ca-dir refusals; PEM bundles; persistence across a restart.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

VEC=$KL_SOURCE_DIR/tests/data/registrar/registrar-docs-example.json
ID=d432fbb3-d2f1-4a97-9ef7-75bd81c00000
V=v2.6
EK=$(jq -r .get_agent_response_example.results.ek_tpm "$VEC")
EKCERT=$(jq -r .get_agent_response_example.results.ekcert "$VEC")
AIK=$(jq -r .get_agent_response_example.results.aik_tpm "$VEC")
AIK2=$(jq -r .post_agents_request_example.aik_tpm "$VEC")

# body AIK [EKCERT-JSON]: a registration body.
body() {
        jq -n --arg ek "$EK" --arg aik "$1" --argjson cert "${2:-null}" \
                '{ek_tpm: $ek, aik_tpm: $aik, ekcert: $cert, mtls_cert: "disabled",
                  ip: "127.0.0.1", port: 9002}'
}

# req METHOD PATH [BODY]: prints the status code; the answer is in $T/out. GET and
# DELETE go to the mTLS listener with the verifier's client certificate, as they must.
req() {
        local url=$REG_URL tls=()
        case $1 in GET | DELETE) url=$REG_TLS_URL tls=("${STUB_TLS[@]}") ;; esac
        if [ $# -ge 3 ]; then
                curl -s -o "$T/out" -w '%{http_code}' "${tls[@]}" -X "$1" --data-binary "$3" "$url$2"
        else
                curl -s -o "$T/out" -w '%{http_code}' "${tls[@]}" -X "$1" "$url$2"
        fi
}

want() { # want CODE ACTUAL WHAT
        [ "$2" = "$1" ] || fail "$3: got $2, want $1: $(head -c 300 "$T/out")"
}

registrar_start reg

log "register: 200 and a 336-byte credential blob"
want 200 "$(req POST "/$V/agents/$ID" "$(body "$AIK" "\"$EKCERT\"")")" "register"
jq -r .results.blob "$T/out" | base64 -d >"$T/blob" || fail "blob is not base64"
[ "$(stat -c %s "$T/blob")" = 336 ] || fail "blob is $(stat -c %s "$T/blob") bytes, want 336"
[ "$(head -c 12 "$T/blob" | od -An -tx1 | tr -d ' \n')" = badcc0de0000000100440020 ] ||
        fail "blob header $(head -c 12 "$T/blob" | od -An -tx1)"
want 404 "$(req GET "/$V/agents/$ID")" "show before activation"
jq -e '.status | test("not been activated")' "$T/out" >/dev/null || fail "404 reason"
want 200 "$(req GET "/$V/agents/")" "list"
jq -e --arg id "$ID" '.results.uuids == [$id]' "$T/out" >/dev/null || fail "list: $(cat "$T/out")"
pass "registered; blob starts badcc0de, agent listed, not shown before activation"

log "same identity again: allowed (re-registration)"
want 200 "$(req POST "/$V/agents/$ID" "$(body "$AIK" "\"$EKCERT\"")")" "re-register"
log "another AK under the same ID: 403"
want 403 "$(req POST "/$V/agents/$ID" "$(body "$AIK2" "\"$EKCERT\"")")" "identity change"
jq -e '.status | test("different TPM identity is forbidden")' "$T/out" >/dev/null ||
        fail "403 reason: $(cat "$T/out")"
log "dropping the EK certificate of a known agent: 403"
want 403 "$(req POST "/$V/agents/$ID" "$(body "$AIK")")" "identity change (no ekcert)"
pass "identity immutability (CVE-2025-13609 class)"

log "persistence across a restart"
kill -TERM "$REG_PID"
wait "$REG_PID" || fail "stub did not exit cleanly"
registrar_start reg
want 200 "$(req GET "/$V/agents")" "list after restart"
jq -e --arg id "$ID" '.results.uuids == [$id]' "$T/out" >/dev/null || fail "record lost"
pass "records survive a restart"

log "wrong auth tag: 400, record deleted"
want 400 "$(req PUT "/$V/agents/$ID" "{\"auth_tag\": \"$(printf '0%.0s' {1..96})\"}")" \
        "wrong tag"
jq -e '.status | test("does not match expected value")' "$T/out" >/dev/null || fail "reason"
want 404 "$(req GET "/$V/agents/$ID")" "show after wrong tag"
jq -e '.status | test("not found")' "$T/out" >/dev/null || fail "404 reason"
grep -q "$(printf '0%.0s' {1..96})" "$T/reg.log" && fail "auth tag written to the log"
pass "wrong tag deletes the agent"

log "after deletion the ID is free again, even for another AK"
want 200 "$(req POST "/$V/agents/$ID" "$(body "$AIK2")")" "register another AK"
want 200 "$(req DELETE "/$V/agents/$ID")" "delete"
want 404 "$(req DELETE "/$V/agents/$ID")" "delete again"
pass "delete"

log "EK certificate and ek_tpm that do not match: 400"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.key" -out "$T/other.pem" \
        -subj /CN=other -days 1 >/dev/null 2>&1 || fail "openssl"
OTHER=$(jq -Rs . "$T/other.pem")
want 400 "$(req POST "/$V/agents/$ID" "$(body "$AIK" "$OTHER")")" "mismatched ekcert"
jq -e '.status | test("does not match")' "$T/out" >/dev/null || fail "reason: $(cat "$T/out")"
pass "mismatched EK certificate refused"

log "PEM bundle (EK certificate + an intermediate), collection route with agent_id in body"
{
        echo "-----BEGIN CERTIFICATE-----"
        printf '%s' "$EKCERT" | fold -w 64
        echo
        echo "-----END CERTIFICATE-----"
        cat "$T/other.pem"
} >"$T/bundle.pem"
BUNDLE=$(jq -Rs . "$T/bundle.pem")
want 200 "$(req POST "/$V/agents" "$(body "$AIK" "$BUNDLE" | jq --arg id "$ID" '. + {agent_id: $id}')")" \
        "PEM bundle"
want 200 "$(req DELETE "/$V/agents/$ID")" "delete"
pass "PEM bundle accepted, first block is the EK certificate"

log "--require-ek-cert: no certificate → 403; with one → 200"
registrar_start strict --require-ek-cert
want 403 "$(req POST "/$V/agents/$ID" "$(body "$AIK")")" "no ekcert"
jq -e '.status | test("EK certificate required")' "$T/out" >/dev/null || fail "reason"
want 200 "$(req POST "/$V/agents/$ID" "$(body "$AIK" "\"$EKCERT\"")")" "with ekcert"
pass "--require-ek-cert"

log "--ek-ca-dir with an unrelated CA: 403 not trusted"
mkdir -p "$T/ca"
cp "$T/other.pem" "$T/ca/other.pem"
registrar_start chain --ek-ca-dir "$T/ca"
want 403 "$(req POST "/$V/agents/$ID" "$(body "$AIK" "\"$EKCERT\"")")" "untrusted chain"
jq -e '.status | test("not trusted")' "$T/out" >/dev/null || fail "reason: $(cat "$T/out")"
pass "untrusted EK chain refused: $(jq -r .status "$T/out" | cut -c1-120)"
