#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent's mTLS server key inside its TPM (certified_server_key): agent A
# has an ECC and an RSA key certified (keylime_verifier_stub certify), is
# restarted with each as its TLS key, re-registers, and is attested by the
# verifier stub, which pins the registered certificate. Checked from outside:
# the certificate A serves is the CA-issued one, the handshake is signed with
# the certificate's key (ECDSA, then RSA-PSS), the registrar holds that
# certificate as mtls_cert, and no private key is on disk.
# shellcheck disable=SC2154 # tpm_up sets tpm1_TCTI
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"

UA=5b1e2f3a-4c5d-4e6f-8a7b-9c0d1e2f3a4b
tpm_up tpm1
registrar_start reg
pki_up
verifier_start --interval 0.5
PA=$(free_port) || fail "no free port"
agent_start agentA "$tpm1_TCTI" "$UA" "$PA"

for alg in ecc rsa; do
        "$VERIFIER_BIN" certify --uuid "$UA" --registrar "$REG_TLS_URL" "${VER_TLS[@]}" \
                --agent "127.0.0.1:$PA" --alg "$alg" --name "tls-$alg" --subject "/CN=agent-a.example" \
                --issuer-cert "$T/pki/cacert.crt" --issuer-key "$T/pki/cacert-private.pem" \
                --out "$T/$alg.pem" >"$T/certify-$alg.out" 2>&1 || fail "certify $alg: $(cat "$T/certify-$alg.out")"
done

# restart_with NAME: A serves with TPM key NAME after an authenticated delete at the registrar
restart_with() {
        kill "$agentA_PID"
        wait "$agentA_PID" 2>/dev/null || true
        [ "$(curl -s -o /dev/null -w '%{http_code}' "${STUB_TLS[@]}" -X DELETE \
                "$REG_TLS_URL/v2.6/agents/$UA")" = 200 ] || fail "registrar delete over mTLS"
        AGENT_STARTS=$((${AGENT_STARTS:-1} + 1))
        agent_start agentA "$tpm1_TCTI" "$UA" "$PA" "certified_server_key = \"$1\""
        grep -q "TLS server key: '$1' in the TPM" "$T/agentA.log" || fail "A did not say it uses '$1'"
}

for alg in ecc rsa; do
        log "$alg: A serves mTLS with TPM key tls-$alg"
        restart_with "tls-$alg"
        openssl s_client -connect "127.0.0.1:$PA" -CAfile "$T/pki/cacert.crt" -verify_return_error \
                -cert "$T/pki/client-cert.crt" -key "$T/pki/client-private.pem" -showcerts \
                </dev/null >"$T/s_client-$alg.out" 2>&1 || fail "handshake: $(tail -5 "$T/s_client-$alg.out")"
        openssl x509 -in "$T/s_client-$alg.out" -noout -fingerprint >"$T/served.fp" ||
                fail "no certificate served"
        [ "$(cat "$T/served.fp")" = "$(openssl x509 -in "$T/$alg.pem" -noout -fingerprint)" ] ||
                fail "A serves another certificate than the one the CA issued for tls-$alg"
        case $alg in
        ecc) want="ECDSA" ;;
        rsa) want="RSA-PSS" ;;
        esac
        grep -q "Peer signature type: $want" "$T/s_client-$alg.out" ||
                fail "the handshake was not signed with $want: $(grep -i 'signature' "$T/s_client-$alg.out")"
        [ "$(reg_get "/v2.6/agents/$UA" "$T/reg.json")" = 200 ] || fail "registrar record"
        [ "$(jq -r .results.mtls_cert "$T/reg.json" | openssl x509 -noout -fingerprint)" = "$(cat "$T/served.fp")" ] ||
                fail "the registrar holds another mtls_cert"
        # the verifier pins the registered certificate: a handshake signed by the TPM key passes it
        vstub delete --uuid "$UA" >/dev/null 2>&1 || true
        vstub add --uuid "$UA" --agent "127.0.0.1:$PA" >"$T/add.out" 2>&1 || fail "add: $(cat "$T/add.out")"
        wait_state "$UA" "Get Quote" 30 2
        pass "$alg: TLS with the TPM key; the verifier stub attests A through it"
done
if grep -rlq "PRIVATE KEY" "$T/agentA/certified"; then
        fail "a private key in software is stored under certified/"
fi
