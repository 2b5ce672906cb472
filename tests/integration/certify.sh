#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Certified keys end to end: `keylime_verifier_stub certify` has agent A create
# an RSA-2048 and an ECC P-256 key in its TPM, checks A's TPM2_Certify of each
# against the AK the registrar holds, issues certificates from the test CA and
# hands them to A. Checked here without the stub's code: openssl verify against
# the CA, the certificate's key is the TPM public area's, A keeps only TPM blobs
# and the certificate, and A's signature over a challenge of ours (POST
# /keys/prove) verifies with the certificate's key (openssl dgst).
# Then, through a relay that holds A's own TLS key (so the stub's pin holds)
# and rewrites A's certify answer, no certificate is issued, each with its
# reason, for: a replayed answer of A's (stale nonce), an answer of agent B
# (another TPM's AK), A's answer with a software key's public area (its Name
# is not the one certified) and with a tampered certify_info. A refuses a
# certificate for another key (400, record unchanged) and unknown names (404).
# shellcheck disable=SC2154 # tpm_up sets tpm1_TCTI, tpm2_TCTI
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"

UA=2a7c3d4e-5f60-4172-8a9b-0c1d2e3f4a5b
UB=3b8d4e5f-6071-4283-9cab-1d2e3f4a5b6c
tpm_up tpm1
tpm_up tpm2 own
registrar_start reg
pki_up
PA=$(free_port) || fail "no free port"
PB=$(free_port) || fail "no free port"
agent_start agentA "$tpm1_TCTI" "$UA" "$PA"
agent_start agentB "$tpm2_TCTI" "$UB" "$PB"

CERTIFY=(--uuid "$UA" --registrar "$REG_TLS_URL" "${VER_TLS[@]}"
        --issuer-cert "$T/pki/cacert.crt" --issuer-key "$T/pki/cacert-private.pem")

# apost AGENT PORT ROUTE JSON OUT: POSTs JSON to /v2.6/keys/ROUTE of the agent over mTLS; prints the status
apost() {
        curl -s -o "$5" -w '%{http_code}' --max-time 20 --cacert "$T/$1/server-cert.crt" \
                --cert "$T/pki/client-cert.crt" --key "$T/pki/client-private.pem" \
                -H 'Content-Type: application/json' --data-binary "$4" \
                "https://127.0.0.1:$2/v2.6/keys/$3"
}

# prove AGENTPORT NAME CERT: A signs a random challenge with NAME; openssl checks it with CERT's key
prove() {
        head -c 48 /dev/urandom >"$T/challenge"
        code=$(apost agentA "$1" prove "$(jq -n --arg n "$2" --arg c "$(base64 -w0 "$T/challenge")" \
                '{name: $n, challenge: $c}')" "$T/prove.out")
        [ "$code" = 200 ] || fail "prove $2: HTTP $code: $(cat "$T/prove.out")"
        jq -r .results.signature "$T/prove.out" | base64 -d >"$T/challenge.sig"
        openssl x509 -in "$3" -noout -pubkey >"$T/cert.pub"
        # what the key signs: a fixed context, a NUL, the challenge (certified-key.md)
        { printf 'keylime-agent-c certified key proof v1\0'; cat "$T/challenge"; } >"$T/challenge.msg"
        openssl dgst -sha256 -verify "$T/cert.pub" -signature "$T/challenge.sig" "$T/challenge.msg" >/dev/null ||
                fail "A's signature with '$2' does not verify with its certificate's key"
        # the bare challenge is not what it signed: no signing oracle for TLS handshakes
        ! openssl dgst -sha256 -verify "$T/cert.pub" -signature "$T/challenge.sig" "$T/challenge" >/dev/null 2>&1 ||
                fail "A signed the bare challenge with '$2', without the context"
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

log "A refuses a certificate for another key and names it does not hold"
sum=$(sha256sum <"$T/agentA/certified/tls-rsa.json")
code=$(apost agentA "$PA" certificate "$(jq -n --rawfile c "$T/ecc.pem" '{name: "tls-rsa", certificate: $c}')" "$T/cert.out")
[ "$code" = 400 ] || fail "a certificate of tls-ecc's key for tls-rsa: HTTP $code: $(cat "$T/cert.out")"
grep -q "another public key than this TPM key" "$T/cert.out" || fail "unclear refusal: $(cat "$T/cert.out")"
[ "$(sha256sum <"$T/agentA/certified/tls-rsa.json")" = "$sum" ] || fail "the refused certificate changed tls-rsa's record"
code=$(apost agentA "$PA" certificate "$(jq -n --rawfile c "$T/rsa.pem" '{name: "nosuchkey", certificate: $c}')" "$T/cert.out")
[ "$code" = 404 ] || fail "a certificate for an unknown key: HTTP $code: $(cat "$T/cert.out")"
[ ! -e "$T/agentA/certified/nosuchkey.json" ] || fail "a record was made for an unknown key"
code=$(apost agentA "$PA" prove '{"name": "nosuchkey", "challenge": "AAAA"}' "$T/prove.out")
[ "$code" = 404 ] || fail "prove with an unknown key: HTTP $code: $(cat "$T/prove.out")"
pass "another key's certificate: 400, record unchanged; unknown names: 404"

# answers to replay: A's over a nonce of an earlier request, B's (B's TPM and AK)
code=$(apost agentA "$PA" certify '{"name": "replayed", "alg": "ecc", "nonce": "earlier0request"}' "$T/stale.json")
[ "$code" = 200 ] || fail "certify at A: HTTP $code: $(cat "$T/stale.json")"
code=$(apost agentB "$PB" certify '{"name": "other", "alg": "ecc", "nonce": "earlier0request"}' "$T/other.json")
[ "$code" = 200 ] || fail "certify at B: HTTP $code: $(cat "$T/other.json")"
# a software key's public area claiming the TPM key's attributes (loaded as an outside key)
openssl ecparam -name prime256v1 -genkey -noout -out "$T/soft.pem" 2>/dev/null
openssl ec -in "$T/soft.pem" -pubout -out "$T/soft.pub.pem" 2>/dev/null
TPM2TOOLS_TCTI=$tpm2_TCTI tpm2_loadexternal -C n -G ecc -u "$T/soft.pub.pem" -c "$T/soft.ctx" \
        -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' >/dev/null 2>&1 ||
        fail "tpm2_loadexternal of a software key"
TPM2TOOLS_TCTI=$tpm2_TCTI tpm2_readpublic -c "$T/soft.ctx" -o "$T/soft.tpm.pub" >/dev/null 2>&1 ||
        fail "tpm2_readpublic of the software key"
TPM2TOOLS_TCTI=$tpm2_TCTI tpm2_flushcontext -t >/dev/null 2>&1

rm -f "$T/relay.port"
python3 "$KL_SOURCE_DIR/tests/tools/certify_relay.py" "$T/relay.port" "$T/agentA/server-cert.crt" \
        "$T/agentA/server-private.pem" "https://127.0.0.1:$PA" "$T/agentA/server-cert.crt" \
        "$T/pki/client-cert.crt" "$T/pki/client-private.pem" "$T/rewrite.json" 2>"$T/relay.log" &
KL_PIDS+=("$!")
wait_for_file "$T/relay.port" 10 || fail "relay did not start: $(cat "$T/relay.log")"
RELAY=127.0.0.1:$(cat "$T/relay.port")
"$VERIFIER_BIN" certify "${CERTIFY[@]}" --agent "$RELAY" --name via-relay --out "$T/relay.pem" \
        >"$T/certify-relay.out" 2>&1 || fail "certify through the relay, unchanged: $(cat "$T/certify-relay.out")"
pass "the relay passes an honest answer: certified"

# refused CASE REASON JQ-ARGS...: the relay applies the rewrite jq -n JQ-ARGS makes; no certificate, REASON said
refused() {
        jq -n "${@:3}" >"$T/rewrite.json" || fail "rewrite for $1"
        rm -f "$T/refused.pem"
        if "$VERIFIER_BIN" certify "${CERTIFY[@]}" --agent "$RELAY" --alg ecc --name "bad-$1" \
                --out "$T/refused.pem" >"$T/certify-bad.out" 2>&1; then
                fail "$1: a certificate was issued: $(cat "$T/certify-bad.out")"
        fi
        grep -q "no certificate for key 'bad-$1' of agent $UA: .*$2" "$T/certify-bad.out" ||
                fail "$1: unclear refusal: $(cat "$T/certify-bad.out")"
        [ ! -e "$T/refused.pem" ] || fail "$1: a certificate was written"
        jq -e '.certificate == null' "$T/agentA/certified/bad-$1.json" >/dev/null ||
                fail "$1: A was given a certificate"
        pass "$1: no certificate ($2)"
}
refused stale "stale or replayed" \
        --slurpfile a "$T/stale.json" '{results: ($a[0].results | {public, certify_info, signature})}'
refused wrong-ak "not signed by the agent's AK" \
        --slurpfile a "$T/other.json" '{results: ($a[0].results | {public, certify_info, signature})}'
refused software-key "its Name differs" \
        --arg p "$(base64 -w0 "$T/soft.tpm.pub")" '{results: {public: $p}}'
refused tpm-key-of-b "its Name differs" \
        --slurpfile a "$T/other.json" '{results: {public: $a[0].results.public}}'
refused tampered "not signed by the agent's AK" '{flip: ["certify_info"]}'
rm -f "$T/rewrite.json"
