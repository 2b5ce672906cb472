#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The trust root of the original design on swtpm: the agent sends the TPM's TCG
# platform certificate (NV 0x01c08000) with its registration; the registrar stub
# checks it against the platform CA and the EK certificate, and the EK chain
# against a CA directory holding only the root (the intermediate comes from NV
# 0x01c00100). Every bad platform certificate is refused with its reason and
# nothing is stored; AKs that are not restricted signing keys that never left
# the TPM (made with tpm2-tools) are refused by the registrar and verifier stubs.
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=verifier_lib.sh
. "$here/verifier_lib.sh"

TOOL=$KL_BUILD_DIR/tests/kl_platform_cert_tool
A=5a1c3f0e-0000-4000-8000-00000000000a

tpm_up tpm1
. "$tpm1_DIR/env"
[ -s "${KL_TPM_PLATFORM_CERT:-}" ] || fail "the test bed made no platform certificate"
# the test bed's own promises: NV holds the file's bytes; the chain index holds the intermediate
tpm2_nvread 0x01c08000 -C o 2>/dev/null >"$T/nv-platform.der" || fail "cannot read NV 0x01c08000"
cmp -s "$T/nv-platform.der" "$KL_TPM_PLATFORM_CERT" || fail "NV 0x01c08000 differs from the file copy"
tpm2_nvread 0x01c00100 -C o 2>/dev/null | openssl x509 -inform der -out "$T/ek-intermediate.pem" ||
        fail "no EK intermediate in NV 0x01c00100"
"$TOOL" check "$KL_TPM_PLATFORM_CERT" --holder "$KL_TPM_EK_CERT_RSA" \
        --ca-dir "$KL_TPM_PLATFORM_CA_DIR" >/dev/null || fail "the test bed's platform certificate does not check"

registrar_start reg --ek-ca-dir "$KL_TPM_EK_ROOT_CA_DIR" --require-ek-cert \
        --platform-ca-dir "$KL_TPM_PLATFORM_CA_DIR" --require-platform-cert

log "agent --check reports the platform certificate"
agent_conf "$T/a.conf" "$T/a" "$A"
TCTI=$tpm1_TCTI KEYLIME_AGENT_CONFIG=$T/a.conf "$AGENT_BIN" --check >"$T/check.out" 2>&1 || true
grep -E "platform certificate.*NV 0x01c08000.*kl-testbed kl-testbed-platform 1.0.*holder is the EK certificate, valid" \
        "$T/check.out" >/dev/null || fail "--check does not report the platform certificate: $(grep -i platform "$T/check.out")"
pass "--check: $(grep 'platform certificate' "$T/check.out" | head -1)"

log "registration with the platform certificate from NV, EK chain completed from NV"
agent_register "$tpm1_TCTI" "$T/a.conf" "$T/a.log" || fail "agent did not register: $(tail -5 "$T/a.log") / $(tail -5 "$T/reg.log")"
[ "$(http_get "$REG_URL/v2.6/agents/$A" "$T/show.json")" = 200 ] || fail "GET agent: $(cat "$T/show.json")"
serial=$(openssl x509 -in "$KL_TPM_EK_CERT_RSA" -noout -serial | sed 's/^serial=//')
if [ "$(json_get "$T/show.json" .results.platform_cert.manufacturer)" != kl-testbed ] ||
        [ "$(json_get "$T/show.json" .results.platform_cert.model)" != kl-testbed-platform ] ||
        [ "$(json_get "$T/show.json" .results.platform_cert.version)" != 1.0 ] ||
        [ "$(json_get "$T/show.json" .results.platform_cert.serial)" != "KLTB-$serial" ]; then
        fail "stored platform attributes wrong: $(jq -c .results.platform_cert "$T/show.json")"
fi
pass "registered; GET shows $(jq -c .results.platform_cert "$T/show.json")"

# The registered identity, reused for crafted registrations under other IDs.
EK_TPM=$(json_get "$T/show.json" .results.ek_tpm)
AIK_TPM=$(json_get "$T/show.json" .results.aik_tpm)
EKCERT_BUNDLE=$(cat "$KL_TPM_EK_CERT_RSA" "$T/ek-intermediate.pem")

# register ID [PLATFORM_B64|-] [EKCERT] [AIK]: POSTs a registration; prints the HTTP code,
# the reply in $T/reply.json. "-" leaves platform_cert out.
register() {
        local id=$1 pc=${2:--} ek=${3:-$EKCERT_BUNDLE} aik=${4:-$AIK_TPM}
        jq -n --arg ek "$EK_TPM" --arg aik "$aik" --arg ekcert "$ek" --arg pc "$pc" \
                '{ek_tpm: $ek, aik_tpm: $aik, ekcert: $ekcert, ip: "127.0.0.1", port: 9002,
                  mtls_cert: "disabled"} + (if $pc == "-" then {} else {platform_cert: $pc} end)' \
                >"$T/body.json"
        curl -s -o "$T/reply.json" -w '%{http_code}' -H 'Content-Type: application/json' \
                --data-binary "@$T/body.json" "$REG_URL/v2.6/agents/$id"
}

# refused ID WHAT CODE REASON [register args...]: the registration is refused with CODE,
# the status names REASON, and the registrar knows nothing of ID afterwards.
n=0
refused() {
        local what=$1 code=$2 reason=$3 id got
        shift 3
        n=$((n + 1))
        id=$(printf '5a1c3f0e-0000-4000-8000-%012d' "$n")
        got=$(register "$id" "$@")
        [ "$got" = "$code" ] || fail "$what: HTTP $got, not $code: $(cat "$T/reply.json")"
        json_get "$T/reply.json" .status | grep -qi -- "$reason" ||
                fail "$what: reason does not mention '$reason': $(json_get "$T/reply.json" .status)"
        if [ "$(http_get "$REG_URL/v2.6/agents/$id" "$T/gone.json")" != 404 ] ||
                ! json_get "$T/gone.json" .status | grep -q "not found"; then
                fail "$what: something was stored for $id: $(cat "$T/gone.json")"
        fi
        pass "$what: $code $(json_get "$T/reply.json" .status)"
}

b64() { base64 -w0 <"$1"; }

log "bad platform certificates"
refused "missing" 403 "platform certificate required" -
printf 'not a certificate at all' >"$T/garbage"
refused "garbage" 400 "not a DER TCG platform attribute certificate" "$(b64 "$T/garbage")"
refused "not base64" 400 "invalid field 'platform_cert'" '%%%'
"$TOOL" make --holder "$KL_TPM_EK_CERT_RSA" --ca-cert "$KL_TPM_PLATFORM_CA_DIR/platform-ca.pem" \
        --ca-key "$tpm1_DIR/ca/platform-ca.key" --manufacturer kl-testbed --model m --version 1 \
        --not-before 1000000000 --not-after 1000003600 --out "$T/expired.der" || fail "make expired"
refused "expired" 403 "has expired" "$(b64 "$T/expired.der")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/foreign.key" \
        -out "$T/foreign.pem" -subj "/O=elsewhere/CN=foreign platform CA" -days 30 2>/dev/null
"$TOOL" make --holder "$KL_TPM_EK_CERT_RSA" --ca-cert "$T/foreign.pem" --ca-key "$T/foreign.key" \
        --manufacturer kl-testbed --model m --version 1 --out "$T/foreign.der" || fail "make foreign"
refused "foreign CA" 403 "is not a trusted platform CA" "$(b64 "$T/foreign.der")"
# same DN as the trusted CA, other key: the issuer is found, the signature fails
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/twin.key" \
        -out "$T/twin.pem" -subj "/O=kl-testbed/CN=kl-testbed platform CA" -days 30 2>/dev/null
"$TOOL" make --holder "$KL_TPM_EK_CERT_RSA" --ca-cert "$T/twin.pem" --ca-key "$T/twin.key" \
        --manufacturer kl-testbed --model m --version 1 --out "$T/twin.der" || fail "make twin"
refused "CA impostor" 403 "signature does not verify" "$(b64 "$T/twin.der")"
sed "s/KLTB-/KLTC-/" "$KL_TPM_PLATFORM_CERT" >"$T/tampered.der"
cmp -s "$T/tampered.der" "$KL_TPM_PLATFORM_CERT" && fail "tampering changed nothing"
refused "tampered" 403 "signature does not verify" "$(b64 "$T/tampered.der")"
# the P-256 EK certificate: same issuer, another serial number
"$TOOL" make --holder "$KL_TPM_EK_CERT_ECC" --ca-cert "$KL_TPM_PLATFORM_CA_DIR/platform-ca.pem" \
        --ca-key "$tpm1_DIR/ca/platform-ca.key" --manufacturer kl-testbed --model m --version 1 \
        --out "$T/wrong-serial.der" || fail "make wrong-serial"
refused "wrong serial" 403 "holder serial number" "$(b64 "$T/wrong-serial.der")"
refused "EK chain without the NV intermediate" 403 "not trusted" "$(b64 "$KL_TPM_PLATFORM_CERT")" \
        "$(cat "$KL_TPM_EK_CERT_RSA")"

log "the agent option platform_cert names a file instead of NV"
C=5a1c3f0e-0000-4000-8000-0000000000cc
agent_conf "$T/c.conf" "$T/c" "$C" "platform_cert = \"$T/expired.der\""
agent_register "$tpm1_TCTI" "$T/c.conf" "$T/c.log" && fail "agent registered with an expired platform certificate"
grep -q "platform certificate read from $T/expired.der" "$T/c.log" ||
        fail "agent did not read the file: $(grep -i platform "$T/c.log")"
grep -q "403: Platform certificate of agent '$C' refused: platform certificate has expired" "$T/c.log" ||
        fail "agent log lacks the registrar's reason: $(tail -3 "$T/c.log")"
pass "agent with platform_cert = expired.der: refused, '$(grep -o 'platform certificate has expired[^)]*)' "$T/c.log" | head -1)'"

log "AKs that are not genuine attestation keys (tpm2-tools)"
# swtpm has three object slots and no resource manager: flush after each command
flush() { tpm2_flushcontext -t >/dev/null 2>&1; tpm2_flushcontext -s >/dev/null 2>&1 || true; }
tpm2_createprimary -C o -c "$T/prim.ctx" >/dev/null || fail "tpm2_createprimary"
flush
tpm2_create -C "$T/prim.ctx" -G rsa2048:rsassa-sha256:null -u "$T/unrestricted.pub" \
        -r "$T/unrestricted.priv" -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign" \
        >/dev/null || fail "tpm2_create unrestricted"
flush
tpm2_create -C "$T/prim.ctx" -G rsa2048:rsassa-sha256:null -u "$T/duplicable.pub" \
        -r "$T/duplicable.priv" -a "sensitivedataorigin|userwithauth|restricted|sign" \
        >/dev/null || fail "tpm2_create duplicable"
flush
refused "unrestricted AK" 400 "lacks restricted" "$(b64 "$KL_TPM_PLATFORM_CERT")" "" \
        "$(b64 "$T/unrestricted.pub")"
refused "duplicable AK" 400 "lacks fixedTPM" "$(b64 "$KL_TPM_PLATFORM_CERT")" "" \
        "$(b64 "$T/duplicable.pub")"

log "the verifier stub refuses such an AK from a registrar that does not look (as upstream's)"
pki_up
B=5a1c3f0e-0000-4000-8000-0000000000bb
registrar_start reg2
BPORT=$(free_port)
agent_start b "$tpm1_TCTI" "$B" "$BPORT"
for _ in $(seq 50); do
        [ "$(http_get "$REG_URL/v2.6/agents/$B" "$T/b.json")" = 200 ] && break
        sleep 0.2
done
[ "$(http_get "$REG_URL/v2.6/agents/$B" "$T/b.json")" = 200 ] || fail "agent b not active"
# the registrar's record now holds the unrestricted key as if it had accepted it
sqlite3 "$T/reg2.sqlite" "UPDATE agents SET aik_tpm = X'$(od -An -v -tx1 "$T/unrestricted.pub" | tr -d ' \n')' WHERE agent_id = '$B'" ||
        fail "cannot edit the registrar record"
verifier_start
vstub add --uuid "$B" --agent "127.0.0.1:$BPORT" >"$T/add.out" 2>&1 && fail "verifier accepted the unrestricted AK"
grep -q "lacks restricted" "$T/add.out" || fail "verifier refusal does not name the reason: $(cat "$T/add.out")"
pass "verifier stub: $(tail -1 "$T/add.out")"
