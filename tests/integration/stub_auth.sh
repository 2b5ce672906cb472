#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Who may change the stubs. Registrar: its plain HTTP listener serves agents
# only, so list, show and delete there answer 400 and change nothing; after
# such a delete another TPM still cannot take the agent's ID; a wrong auth tag
# leaves an active agent active; the mTLS listener refuses clients without a
# certificate or with one from another CA and serves the verifier's. Verifier:
# its whole API is mTLS, so add, status and delete without the verifier/tenant
# client certificate, or with one from another CA, are refused.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"

UUID=5e600bce-a5cb-4f5f-b9a1-0e1c2d3e4f51
tpm_up tpm1
tpm_up tpm2 own
registrar_start reg
"$KL_SOURCE_DIR/certs/make-pki.sh" "$T/other-pki" 2>/dev/null || fail "second PKI"
OTHER=(--cacert "$T/pki/cacert.crt" --cert "$T/other-pki/client-cert.crt"
        --key "$T/other-pki/client-private.pem")
agent_conf "$T/a1.conf" "$T/kl1" "$UUID"
agent_register "$tpm1_TCTI" "$T/a1.conf" "$T/a1.log" || fail "agent did not register"
reg_get "/v2.6/agents/$UUID" "$T/before.json" >/dev/null

# plain METHOD PATH: a request to the agents' plain HTTP listener; prints the status.
plain() {
        curl -s -o "$T/plain.json" -w '%{http_code}' -X "$1" "$REG_URL$2"
}

log "registrar: list, show and delete over plain HTTP are refused"
for req in "GET /v2.6/agents/" "GET /v2.6/agents/$UUID" "DELETE /v2.6/agents/$UUID" \
        "DELETE /v2.1/agents/$UUID"; do
        # shellcheck disable=SC2086
        [ "$(plain $req)" = 400 ] || fail "$req over HTTP: $(cat "$T/plain.json")"
        grep -q "HTTPS required" "$T/plain.json" || fail "$req reason: $(cat "$T/plain.json")"
done
[ "$(reg_get "/v2.6/agents/$UUID" "$T/after.json")" = 200 ] || fail "agent gone after plain DELETE"
pass "plain list/show/delete answer 400; the agent is still registered"

log "registrar: another TPM cannot take the ID after the refused delete"
agent_conf "$T/a2.conf" "$T/kl2" "$UUID"
agent_register "$tpm2_TCTI" "$T/a2.conf" "$T/a2.log" && fail "another TPM took over $UUID"
grep -q "403" "$T/a2.log" || fail "takeover not refused with 403: $(tail -3 "$T/a2.log")"
reg_get "/v2.6/agents/$UUID" "$T/after.json" >/dev/null
[ "$(jq -r .results.ek_tpm "$T/after.json")" = "$(jq -r .results.ek_tpm "$T/before.json")" ] ||
        fail "the EK of $UUID changed"
pass "re-registration with another EK refused (403)"

log "registrar: a failed activation leaves an active agent active"
code=$(curl -s -o "$T/tag.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
        --data "{\"auth_tag\":\"$(printf '%096d' 0)\"}" "$REG_URL/v2.6/agents/$UUID/activate")
[ "$code" = 400 ] || fail "wrong auth tag answered $code"
[ "$(reg_get "/v2.6/agents/$UUID" "$T/after.json")" = 200 ] || fail "agent no longer active"
pass "wrong auth tag: 400, agent still active"

log "registrar: the mTLS listener wants a certificate from the verifier/tenant CA"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/pki/cacert.crt" -X DELETE \
        "$REG_TLS_URL/v2.6/agents/$UUID") || true
[ "$code" = 000 ] || fail "DELETE without a client certificate answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "${OTHER[@]}" -X DELETE \
        "$REG_TLS_URL/v2.6/agents/$UUID") || true
[ "$code" = 000 ] || fail "DELETE with a certificate of another CA answered $code"
[ "$(reg_get /v2.6/agents/ "$T/list.json")" = 200 ] || fail "list with the right certificate"
jq -e --arg u "$UUID" '.results.uuids == [$u]' "$T/list.json" >/dev/null ||
        fail "list: $(cat "$T/list.json")"
pass "no certificate or another CA's: refused at TLS; the verifier's certificate lists"

log "verifier: the whole API is mTLS"
verifier_start
vurl=$VER_URL
for m in GET POST DELETE; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/pki/cacert.crt" -X "$m" \
                -H 'Content-Type: application/json' --data-binary '{}' \
                "$vurl/v2.6/agents/$UUID") || true
        [ "$code" = 000 ] || fail "$m without a client certificate answered $code"
        code=$(curl -s -o /dev/null -w '%{http_code}' "${OTHER[@]}" -X "$m" \
                "$vurl/v2.6/agents/$UUID") || true
        [ "$code" = 000 ] || fail "$m with another CA's certificate answered $code"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://${vurl#https://}/v2.6/agents/") || true
[ "$code" != 200 ] || fail "the verifier answered plain HTTP"
"$VERIFIER_BIN" add --verifier "$vurl" --ca "$T/pki/cacert.crt" --uuid "$UUID" \
        --agent 127.0.0.1:9 2>"$T/add.err" && fail "add without a client certificate succeeded"
"$VERIFIER_BIN" add --verifier "$vurl" --ca "$T/pki/cacert.crt" --uuid "$UUID" --agent 127.0.0.1:9 \
        --client-cert "$T/other-pki/client-cert.crt" --client-key "$T/other-pki/client-private.pem" \
        2>>"$T/add.err" && fail "add with another CA's certificate succeeded"
curl -s "${STUB_TLS[@]}" "$vurl/v2.6/agents/" >"$T/vlist.json" || fail "verifier list"
jq -e '.results.uuids == []' "$T/vlist.json" >/dev/null || fail "an agent was added: $(cat "$T/vlist.json")"
vstub add --uuid "$UUID" >/dev/null || fail "add with the verifier's certificate failed"
vstub status --uuid "$UUID" >/dev/null || fail "status failed"
vstub delete --uuid "$UUID" >/dev/null || fail "delete failed"
pass "verifier: no certificate or another CA's refused; the client certificate adds and deletes"

log "registrar: delete over mTLS works"
code=$(curl -s -o /dev/null -w '%{http_code}' "${STUB_TLS[@]}" -X DELETE \
        "$REG_TLS_URL/v2.6/agents/$UUID")
[ "$code" = 200 ] || fail "DELETE over mTLS answered $code"
[ "$(reg_get "/v2.6/agents/$UUID" "$T/gone.json")" = 404 ] || fail "agent still there"
pass "delete over mTLS"
