#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Certified keys end to end: `keylime_verifier_stub certify` has agent A create
# an RSA-2048 and an ECC P-256 key in its TPM, checks A's TPM2_Certify of each
# against the AK the registrar holds, issues certificates from the test CA and
# hands them to A. Checked here without the stub's code: openssl verify against
# the CA, the certificate's key is the TPM public area's, A keeps only TPM blobs
# and the certificate, and A's signature over a challenge of ours (POST
# /keys/prove) verifies with the certificate's key (openssl dgst).
# shellcheck disable=SC2154 # tpm_up sets tpm1_TCTI, tpm2_TCTI
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"

UA=2a7c3d4e-5f60-4172-8a9b-0c1d2e3f4a5b
tpm_up tpm1
registrar_start reg
pki_up
PA=$(free_port) || fail "no free port"
agent_start agentA "$tpm1_TCTI" "$UA" "$PA"

CERTIFY=(--uuid "$UA" --registrar "$REG_TLS_URL" "${VER_TLS[@]}"
        --issuer-cert "$T/pki/cacert.crt" --issuer-key "$T/pki/cacert-private.pem")

# prove AGENTPORT NAME CERT: A signs a random challenge with NAME; openssl checks it with CERT's key
prove() {
        head -c 48 /dev/urandom >"$T/challenge"
        jq -n --arg n "$2" --arg c "$(base64 -w0 "$T/challenge")" '{name: $n, challenge: $c}' >"$T/prove.json"
        code=$(curl -s -o "$T/prove.out" -w '%{http_code}' --max-time 20 --cacert "$T/agentA/server-cert.crt" \
                --cert "$T/pki/client-cert.crt" --key "$T/pki/client-private.pem" \
                -H 'Content-Type: application/json' --data-binary "@$T/prove.json" \
                "https://127.0.0.1:$1/v2.6/keys/prove")
        [ "$code" = 200 ] || fail "prove $2: HTTP $code: $(cat "$T/prove.out")"
        jq -r .results.signature "$T/prove.out" | base64 -d >"$T/challenge.sig"
        openssl x509 -in "$3" -noout -pubkey >"$T/cert.pub"
        openssl dgst -sha256 -verify "$T/cert.pub" -signature "$T/challenge.sig" "$T/challenge" >/dev/null ||
                fail "A's signature with '$2' does not verify with its certificate's key"
}

for alg in rsa ecc; do
        log "certify: an $alg key in A's TPM, certified by A's AK, issued a certificate"
        "$VERIFIER_BIN" certify "${CERTIFY[@]}" --agent "127.0.0.1:$PA" --alg "$alg" --name "tls-$alg" \
                --subject "/CN=agent-a.example/O=Keylime test" --out "$T/$alg.pem" >"$T/certify-$alg.out" 2>&1 ||
                fail "certify --alg $alg: $(cat "$T/certify-$alg.out")"
        grep -q "AK certifies .* key 'tls-$alg' as created in its TPM" "$T/certify-$alg.out" ||
                fail "certify did not say what it checked: $(cat "$T/certify-$alg.out")"
        openssl verify -CAfile "$T/pki/cacert.crt" "$T/$alg.pem" >"$T/verify.out" 2>&1 ||
                fail "the certificate does not verify against the CA: $(cat "$T/verify.out")"
        openssl x509 -in "$T/$alg.pem" -noout -subject | grep -q "CN *= *agent-a.example, O *= *Keylime test" ||
                fail "subject: $(openssl x509 -in "$T/$alg.pem" -noout -subject)"
        openssl x509 -in "$T/$alg.pem" -noout -ext keyUsage,extendedKeyUsage | grep -q "TLS Web Server Authentication" ||
                fail "no serverAuth in the certificate"
        rec=$T/agentA/certified/tls-$alg.json
        [ -s "$rec" ] || fail "agent A did not store tls-$alg"
        [ "$(stat -c %a "$rec")" = 600 ] || fail "$rec is not mode 0600"
        [ "$(jq -r .certificate "$rec" | openssl x509 -noout -fingerprint)" = \
                "$(openssl x509 -in "$T/$alg.pem" -noout -fingerprint)" ] || fail "A stored another certificate"
        # the TPM public area A keeps holds the certificate's key (tpm2_print decodes it independently)
        jq -r .public "$rec" | base64 -d >"$T/key.pub"
        tpm2_print -t TPM2B_PUBLIC "$T/key.pub" >"$T/key.txt" || fail "tpm2_print of A's public area"
        attrs=$(awk '/^attributes:/ { getline; print $2 }' "$T/key.txt")
        [ "$attrs" = "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign" ] ||
                fail "the certified key's attributes are '$attrs'"
        prove "$PA" "tls-$alg" "$T/$alg.pem"
        pass "$alg: certificate issued, verifies against the CA; A's signature verifies with it"
done
if grep -rq "BEGIN PRIVATE KEY" "$T/agentA/certified"; then
        fail "a software private key is stored under certified/"
fi
