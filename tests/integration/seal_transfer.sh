#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sealed transfer end to end on two software TPMs: the verifier attests agent A
# (PCRs 0 and 7 in its policy), `seal` wraps an AES key and an RSA key for A's
# EK, bound to PCRs 0,7 as attested; A imports them and keeps only TPM blobs;
# `keylime_agent --unseal` puts the AES key into the secure tmpfs and `--sign`
# signs with the RSA key. The same blob posted to agent B (another TPM) and a
# tampered blob posted to A are refused with 400 and leave nothing stored.
# After PCR 7 is extended, unseal and sign are refused naming the PCR policy.
# shellcheck disable=SC2154 # tpm_up sets tpm1_TCTI, tpm2_TCTI
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"

TOOL=$KL_BUILD_DIR/tests/kl_seal_tool
UA=0e5a1c2b-3d4e-4f60-8a7b-9c0d1e2f3a4b
UB=1f6b2d3c-4e5f-4071-9b8c-0d1e2f3a4b5c
tpm_up tpm1
tpm_up tpm2 own
registrar_start reg
pki_up
PA=$(free_port) || fail "no free port"
PB=$(free_port) || fail "no free port"
agent_start agentA "$tpm1_TCTI" "$UA" "$PA"
agent_start agentB "$tpm2_TCTI" "$UB" "$PB"
verifier_start --interval 1 --revocation-pub ""

pcr() { TPM2TOOLS_TCTI=$tpm1_TCTI tpm2_pcrread "sha256:$1" | awk -F: '/0x/ { gsub(/[ \t]|0x/, "", $2); print tolower($2) }'; }
vstub add --uuid "$UA" --agent "127.0.0.1:$PA" --pcr "sha256:0:$(pcr 0)" --pcr "sha256:7:$(pcr 7)" \
        >"$T/add.out" 2>&1 || fail "add: $(cat "$T/add.out")"
wait_state "$UA" "Get Quote" 30 1

SEAL=(--registrar "$REG_TLS_URL" "${VER_TLS[@]}" --db "$T/verifier.sqlite")
head -c 32 /dev/urandom >"$T/aes.key"
openssl genrsa -out "$T/rsa.pem" 2048 2>/dev/null
openssl rsa -in "$T/rsa.pem" -pubout -out "$T/rsa.pub.pem" 2>/dev/null

log "seal: an AES key and an RSA key for agent A, bound to PCRs 0,7"
"$VERIFIER_BIN" seal --uuid "$UA" --agent "127.0.0.1:$PA" --aes-key "$T/aes.key" --pcrs 0,7 --name disk "${SEAL[@]}" \
        >"$T/seal.out" 2>&1 || fail "seal --aes-key: $(cat "$T/seal.out")"
grep -q "binding to sha256 PCRs of agent $UA as attested at" "$T/seal.out" ||
        fail "seal did not say which attested values it used: $(cat "$T/seal.out")"
"$VERIFIER_BIN" seal --uuid "$UA" --agent "127.0.0.1:$PA" --rsa-key "$T/rsa.pem" --pcrs 0,7 --name signer "${SEAL[@]}" \
        >"$T/seal2.out" 2>&1 || fail "seal --rsa-key: $(cat "$T/seal2.out")"
for n in disk signer; do
        [ -s "$T/agentA/sealed/$n.json" ] || fail "agent A did not store $n"
        [ "$(stat -c %a "$T/agentA/sealed/$n.json")" = 600 ] || fail "$n.json is not mode 0600"
done
key_hex=$(xxd -p -c 256 "$T/aes.key")
if grep -rqiF "$(base64 -w0 <"$T/aes.key")" "$T/agentA" || grep -rqiF "$key_hex" "$T/agentA"; then
        fail "the AES key is stored in the clear under keylime_dir"
fi
pass "agent A imported both keys and keeps only TPM blobs"

log "seal for an agent without a good quote is refused"
if "$VERIFIER_BIN" seal --uuid "$UB" --aes-key "$T/aes.key" --pcrs 0,7 "${SEAL[@]}" \
        >"$T/seal3.out" 2>&1; then
        fail "sealed to an agent the verifier never attested"
fi
grep -q "has no good quote" "$T/seal3.out" || fail "unclear refusal: $(cat "$T/seal3.out")"
pass "no attested PCRs, no seal"

log "use: unseal into the secure tmpfs, sign with the RSA key"
agent_cli() { TCTI=$tpm1_TCTI KEYLIME_AGENT_CONFIG=$T/agentA.conf "$AGENT_BIN" "$@"; }
agent_cli --unseal disk >"$T/unseal.out" 2>"$T/unseal.err" || fail "--unseal: $(cat "$T/unseal.err")"
out=$(cat "$T/unseal.out")
[ "$out" = "$T/agentA/secure/unsealed/disk" ] || fail "unsealed to '$out'"
cmp -s "$out" "$T/aes.key" || fail "the unsealed key differs from the sealed one"
echo "data to sign" >"$T/msg"
agent_cli --sign signer --in "$T/msg" --out "$T/msg.sig" 2>"$T/sign.err" || fail "--sign: $(cat "$T/sign.err")"
openssl dgst -sha256 -verify "$T/rsa.pub.pem" -signature "$T/msg.sig" "$T/msg" >/dev/null ||
        fail "the signature does not verify with the RSA public key"
pass "AES key unsealed, RSA signature verifies"

log "the same kind of blob for A's EK, posted to agent B (another TPM), and tampered, to A"
TPM2TOOLS_TCTI=$tpm1_TCTI tpm2_pcrread sha256:0,7 -o "$T/pcrs.bin" >/dev/null
curl -s "${STUB_TLS[@]}" "$REG_TLS_URL/v2.6/agents/$UA" | jq -r .results.ek_tpm | base64 -d >"$T/ekA.pub"
"$TOOL" "$T/ekA.pub" sha256 0,7 "$T/pcrs.bin" aes "$T/aes.key" "$T/blob" || fail "kl_seal_tool"
body() { # body NAME DUPFILE PARENTFILE
        jq -n --arg name "$1" --arg pub "$(base64 -w0 "$T/blob.pub")" --arg dup "$(base64 -w0 "$2")" \
                --arg seed "$(base64 -w0 "$T/blob.seed")" --arg parent "$(base64 -w0 "$3")" \
                '{name: $name, kind: "aes", bank: "sha256", pcrs: [0, 7], public: $pub,
                  duplicate: $dup, seed: $seed, parent: $parent}'
}
post() { # post AGENT PORT BODYFILE: prints the status code
        curl -s -o "$T/post.json" -w '%{http_code}' --max-time 20 --cacert "$T/$1/server-cert.crt" \
                --cert "$T/pki/client-cert.crt" --key "$T/pki/client-private.pem" \
                -H 'Content-Type: application/json' --data-binary "@$3" \
                "https://127.0.0.1:$2/v2.6/keys/sealed"
}
body other "$T/blob.dup" "$T/blob.parent" >"$T/other.json"
code=$(post agentB "$PB" "$T/other.json")
[ "$code" = 400 ] || fail "agent B answered $code to a blob for A's EK: $(cat "$T/post.json")"
grep -q "not wrapped for this TPM's EK" "$T/post.json" || fail "unclear refusal: $(cat "$T/post.json")"
[ ! -e "$T/agentB/sealed/other.json" ] || fail "agent B stored a blob it could not import"
# B's own EK named as the parent: now B's TPM itself has to refuse the seed
curl -s "${STUB_TLS[@]}" "$REG_TLS_URL/v2.6/agents/$UB" | jq -r .results.ek_tpm | base64 -d >"$T/ekB.pub"
"$TOOL" "$T/ekB.pub" sha256 0,7 "$T/pcrs.bin" aes "$T/aes.key" "$T/blobB" || fail "kl_seal_tool B"
body other "$T/blob.dup" "$T/blobB.parent" >"$T/other2.json"
code=$(post agentB "$PB" "$T/other2.json")
case $code in
400) grep -q "not wrapped for this TPM's EK" "$T/post.json" || fail "unclear refusal: $(cat "$T/post.json")" ;;
# libtpms answers TPM_RC_FAILURE to a seed it cannot decrypt (a hardware TPM: TPM_RC_VALUE)
500) grep -q "TPM2_Import failed" "$T/post.json" || fail "agent B: $(cat "$T/post.json")" ;;
*) fail "agent B answered $code to A's seed under its own EK name: $(cat "$T/post.json")" ;;
esac
[ ! -e "$T/agentB/sealed/other.json" ] || fail "agent B stored a blob it could not import"
cp "$T/blob.dup" "$T/bad.dup"
printf '\x5a' | dd of="$T/bad.dup" bs=1 seek=40 conv=notrunc 2>/dev/null
body tampered "$T/bad.dup" "$T/blob.parent" >"$T/tampered.json"
code=$(post agentA "$PA" "$T/tampered.json")
[ "$code" = 400 ] || fail "agent A answered $code to a tampered blob: $(cat "$T/post.json")"
[ ! -e "$T/agentA/sealed/tampered.json" ] || fail "agent A stored a tampered blob"
body good "$T/blob.dup" "$T/blob.parent" >"$T/good.json"
code=$(post agentA "$PA" "$T/good.json")
[ "$code" = 200 ] || fail "agent A refused the untampered blob ($code): $(cat "$T/post.json")"
pass "other TPM and tampered blob refused with 400, nothing stored; the intact blob imports"

log "PCR 7 extended after import: the TPM refuses, naming the PCR policy"
TPM2TOOLS_TCTI=$tpm1_TCTI tpm2_pcrextend "7:sha256=$(printf '%064d' 1)" || fail "pcrextend"
rm -f "$T/agentA/secure/unsealed/disk"
if agent_cli --unseal disk >"$T/unseal2.out" 2>"$T/unseal2.err"; then
        fail "unsealed after PCR 7 changed"
fi
grep -q "PCR policy (PolicyPCR over sha256:0,7) is not satisfied" "$T/unseal2.err" ||
        fail "unseal refusal does not name the policy: $(cat "$T/unseal2.err")"
[ ! -e "$T/agentA/secure/unsealed/disk" ] || fail "a key was written after the refusal"
if agent_cli --sign signer --in "$T/msg" --out "$T/msg2.sig" 2>"$T/sign2.err"; then
        fail "signed after PCR 7 changed"
fi
grep -q "PCR policy (PolicyPCR over sha256:0,7) is not satisfied" "$T/sign2.err" ||
        fail "sign refusal does not name the policy: $(cat "$T/sign2.err")"
pass "unseal and sign refused after the PCR change"
