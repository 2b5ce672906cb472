#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent's HTTPS API as the verifier and tenant see it: every route and
# version over mTLS, the exact 400s, quotes that tpm2_checkquote verifies
# independently, PCR 16 bound to the served pubkey, incremental IMA lists,
# the UEFI log, and what mTLS refuses. The agent must keep serving.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

UUID=d432fbb3-d2f1-4a97-9ef7-75bd81c00000
tpm_up tpm1
registrar_start reg
"$KL_SOURCE_DIR/certs/make-pki.sh" "$T/pki" 2>/dev/null
"$KL_SOURCE_DIR/certs/make-pki.sh" "$T/other-pki" 2>/dev/null
mkdir -p "$T/kl/cv_ca"
cp "$T/pki/cacert.crt" "$T/kl/cv_ca/cacert.crt"

# A synthetic IMA log; lines are appended later to test incremental reads.
ima_line() { printf '10 %040d ima-ng sha256:%064d /usr/bin/file%s\n' "$1" "$1" "$1"; }
for i in $(seq 1 5); do ima_line "$i"; done >"$T/ima.log"
cp "$KL_SOURCE_DIR/tests/data/uefi/uefi_log.bin" "$T/uefi.bin"

APORT=$(free_port) || fail "no free port"
agent_conf "$T/agent.conf" "$T/kl" "$UUID" "port = $APORT" \
        "ima_ml_path = \"$T/ima.log\"" "measuredboot_ml_path = \"$T/uefi.bin\""
TCTI=$tpm1_TCTI KEYLIME_AGENT_CONFIG=$T/agent.conf "$AGENT_BIN" >"$T/agent.log" 2>&1 &
AGENT_PID=$!
KL_PIDS+=("$AGENT_PID")
for _ in $(seq 100); do
        grep -q "serving the agent API" "$T/agent.log" && break
        kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited: $(tail -5 "$T/agent.log")"
        sleep 0.1
done
grep -q "serving the agent API" "$T/agent.log" || fail "agent API did not start"
BASE=https://127.0.0.1:$APORT

# api PATH [OUT]: GET with the verifier's client certificate, pinning the
# agent's registered self-signed certificate; prints the HTTP status.
api() {
        curl -s -o "${2:-$T/out.json}" -w '%{http_code}' --max-time 20 \
                --cacert "$T/kl/server-cert.crt" --cert "$T/pki/client-cert.crt" \
                --key "$T/pki/client-private.pem" "$BASE$1"
}
expect() { # expect CODE STATUS-SUBSTRING PATH
        local code
        code=$(api "$3" "$T/e.json")
        [ "$code" = "$1" ] || fail "$3: HTTP $code, expected $1: $(cat "$T/e.json")"
        grep -qF -- "$2" "$T/e.json" || fail "$3: status lacks '$2': $(cat "$T/e.json")"
}

log "GET /version lists 2.1..2.6"
[ "$(api /version)" = 200 ] || fail "/version failed"
[ "$(jq -c .results.supported_versions "$T/out.json")" = '["2.1","2.2","2.3","2.4","2.5","2.6"]' ] ||
        fail "supported_versions: $(cat "$T/out.json")"
[ "$(jq -r .results.supported_version "$T/out.json")" = 2.6 ] || fail "supported_version"

log "every version serves pubkey, identity quotes and (from 2.2) agent info"
for v in 2.1 2.2 2.3 2.4 2.5 2.6; do
        [ "$(api "/v$v/keys/pubkey")" = 200 ] || fail "v$v pubkey"
        jq -r .results.pubkey "$T/out.json" | grep -q 'BEGIN PUBLIC KEY' || fail "v$v pubkey PEM"
        [ "$(api "/v$v/quotes/identity?nonce=abc${v/./}" "$T/id.json")" = 200 ] || fail "v$v identity"
        want=rsa2048
        [[ $v < 2.5 ]] && want=rsa
        [ "$(jq -r .results.enc_alg "$T/id.json")" = "$want" ] || fail "v$v enc_alg"
        [ "$(jq -r .results.hash_alg "$T/id.json")" = sha256 ] || fail "v$v hash_alg"
        [ "$(jq -r .results.sign_alg "$T/id.json")" = rsassa ] || fail "v$v sign_alg"
        if [ "$v" = 2.1 ]; then
                expect 400 "Not Implemented: Use /agent, /keys, or /quotes" "/v$v/agent/info"
        else
                [ "$(api "/v$v/agent/info")" = 200 ] || fail "v$v agent/info"
                [ "$(jq -r .results.agent_uuid "$T/out.json")" = "$UUID" ] || fail "agent_uuid"
        fi
done
pass "all routes of 2.1..2.6"

log "exact 400s"
expect 400 "API version not supported: v2.7" "/v2.7/quotes/identity?nonce=abc"
expect 400 "API version not supported: v1.0" "/v1.0/quotes/identity?nonce=abc"
expect 400 "Parameters should be strictly alphanumeric" "/v2.6/quotes/identity?nonce=ab-c"
expect 400 "Nonce is too long" "/v2.6/quotes/identity?nonce=$(printf 'a%.0s' $(seq 65))"
expect 400 "missing field" "/v2.6/quotes/identity"
expect 400 "nonce should be strictly alphanumeric" "/v2.6/quotes/integrity?nonce=a%20b&mask=0x0&partial=0"
expect 400 "mask should be strictly alphanumeric" "/v2.6/quotes/integrity?nonce=ab&mask=0x-1&partial=0"
expect 400 "mask should be a hex encoded 32-bit integer" "/v2.6/quotes/integrity?nonce=ab&mask=0xZZ&partial=0"
expect 400 "partial" "/v2.6/quotes/integrity?nonce=ab&mask=0x0&partial=2"
expect 400 "Not Implemented: Use /agent, /keys, or /quotes interfaces" "/v2.6/foo"
expect 400 "only /identity and /integrity" "/v2.6/quotes/other?nonce=a"
expect 400 "Not Implemented: Use /v2.1" "/"
expect 500 "Unable to retrieve quote" "/v2.6/quotes/integrity?nonce=ab&mask=0x1000000&partial=0"
pass "bad versions and parameters get the upstream answers"

log "an integrity quote verifies with tpm2_checkquote and binds PCR 16 to pubkey"
NONCE=Ai5M5SjYjnkyv4P7itH1
[ "$(api "/v2.6/quotes/integrity?nonce=$NONCE&mask=0x400&partial=0&ima_ml_entry=0" "$T/q.json")" = 200 ] ||
        fail "integrity quote: $(cat "$T/q.json")"
quote=$(jq -r .results.quote "$T/q.json")
[ "${quote:0:1}" = r ] || fail "quote does not start with r"
IFS=: read -r attest sig pcrs <<<"${quote:1}"
printf '%s' "$attest" | base64 -d >"$T/attest.bin"
printf '%s' "$sig" | base64 -d >"$T/sig.bin"
printf '%s' "$pcrs" | base64 -d >"$T/pcrs.bin"
[ "$(stat -c %s "$T/pcrs.bin")" = $((132 + 4 + 532)) ] || fail "PCR blob has the wrong size"
http_get "$REG_URL/v2.6/agents/$UUID" "$T/reg.json" >/dev/null
jq -r .results.aik_tpm "$T/reg.json" | base64 -d >"$T/ak.pub"
tpm2_checkquote -u "$T/ak.pub" -m "$T/attest.bin" -s "$T/sig.bin" -f "$T/pcrs.bin" -g sha256 \
        -q "$(printf '%s' "$NONCE" | od -An -v -tx1 | tr -d ' \n')" >"$T/checkquote.txt" 2>&1 ||
        fail "tpm2_checkquote rejects the quote: $(cat "$T/checkquote.txt")"
jq -j .results.pubkey "$T/q.json" >"$T/nk.pem"
d=$(sha256sum <"$T/nk.pem" | cut -d' ' -f1)
expected=$( (printf '%064d' 0; printf '%s' "$d") | xxd -r -p | sha256sum | cut -d' ' -f1)
actual=$(TPM2TOOLS_TCTI=$tpm1_TCTI tpm2_pcrread sha256:16 | sed -n 's/.*16 *: *0x//p' | tr 'A-F' 'a-f')
[ "$actual" = "$expected" ] || fail "PCR 16 is $actual, expected $expected"
pass "tpm2_checkquote OK; PCR 16 = H(0 || H(pubkey))"

log "IMA list: whole, empty at the end, then only the delta"
[ "$(jq -r .results.ima_measurement_list_entry "$T/q.json")" = 0 ] || fail "entry should be 0"
[ "$(jq -j .results.ima_measurement_list "$T/q.json" | wc -l)" = 5 ] || fail "whole IMA list expected"
[ "$(api "/v2.6/quotes/integrity?nonce=a1&mask=0x400&partial=1&ima_ml_entry=5" "$T/q2.json")" = 200 ] ||
        fail "quote at entry 5"
[ "$(jq -r .results.ima_measurement_list "$T/q2.json")" = "" ] || fail "expected no new IMA lines"
jq -e 'has("pubkey") | not' "$T/q2.json" >/dev/null || fail "partial=1 must omit pubkey"
ima_line 6 >>"$T/ima.log"
ima_line 7 >>"$T/ima.log"
api "/v2.6/quotes/integrity?nonce=a2&mask=0x400&partial=1&ima_ml_entry=5" "$T/q3.json" >/dev/null
[ "$(jq -r .results.ima_measurement_list_entry "$T/q3.json")" = 5 ] || fail "entry should be 5"
[ "$(jq -r .results.ima_measurement_list "$T/q3.json")" = "$(ima_line 6; ima_line 7)" ] ||
        fail "delta is wrong: $(jq .results.ima_measurement_list "$T/q3.json")"
api "/v2.6/quotes/integrity?nonce=a3&mask=0x400&partial=1&ima_ml_entry=99" "$T/q4.json" >/dev/null
[ "$(jq -r .results.ima_measurement_list_entry "$T/q4.json")" = 0 ] || fail "past the end → 0"
pass "incremental IMA list"

log "UEFI event log only when PCR 0 is quoted"
jq -e 'has("mb_measurement_list") | not' "$T/q.json" >/dev/null || fail "mb list without PCR 0"
api "/v2.6/quotes/integrity?nonce=a4&mask=0x1&partial=1" "$T/q5.json" >/dev/null
[ "$(jq -r .results.mb_measurement_list "$T/q5.json")" = "$(base64 -w0 "$T/uefi.bin")" ] ||
        fail "mb_measurement_list is not the base64 of the event log"
pass "mb_measurement_list"

log "mTLS refuses clients without a trusted certificate"
curl -s --max-time 10 --cacert "$T/kl/server-cert.crt" "$BASE/version" >"$T/nocert.out" 2>&1 &&
        grep -q supported "$T/nocert.out" && fail "a client without a certificate was served"
curl -s --max-time 10 --cacert "$T/kl/server-cert.crt" --cert "$T/other-pki/client-cert.crt" \
        --key "$T/other-pki/client-private.pem" "$BASE/version" >"$T/other.out" 2>&1 &&
        grep -q supported "$T/other.out" && fail "a certificate from another CA was served"
curl -s --max-time 10 "http://127.0.0.1:$APORT/version" >"$T/plain.out" 2>&1 &&
        grep -q supported "$T/plain.out" && fail "plain HTTP was served on the TLS port"
[ "$(api /version)" = 200 ] || fail "agent stopped serving after refused clients"
pass "no cert, other CA and plain HTTP refused; agent still serving"

# idle connections and the per-IP limit: agent_tls_bounds.sh

log "enable_agent_mtls = false: plain HTTP, mtls_cert \"disabled\"; no IMA log: no IMA fields"
kill "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
PPORT=$(free_port) || fail "no free port"
agent_conf "$T/plain.conf" "$T/kl" "$UUID" "port = $PPORT" "enable_agent_mtls = false" \
        "payload_script = \"\"" "ima_ml_path = \"$T/no-such-ima-log\""
TCTI=$tpm1_TCTI KEYLIME_AGENT_CONFIG=$T/plain.conf "$AGENT_BIN" >"$T/agent-plain.log" 2>&1 &
KL_PIDS+=($!)
for _ in $(seq 100); do
        grep -q "serving the agent API" "$T/agent-plain.log" && break
        sleep 0.1
done
grep -q "plain HTTP" "$T/agent-plain.log" || fail "agent did not serve plain HTTP: $(tail -3 "$T/agent-plain.log")"
[ "$(curl -s -o "$T/p.json" -w '%{http_code}' \
        "http://127.0.0.1:$PPORT/v2.6/quotes/integrity?nonce=plain&mask=0x400&partial=0")" = 200 ] ||
        fail "plain HTTP quote failed"
jq -e '.results | has("ima_measurement_list") | not' "$T/p.json" >/dev/null ||
        fail "IMA fields sent without an IMA log"
http_get "$REG_URL/v2.6/agents/$UUID" "$T/reg2.json" >/dev/null
[ "$(jq -r .results.mtls_cert "$T/reg2.json")" = disabled ] || fail "mtls_cert should be disabled"
pass "plain HTTP mode"
