#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# libkl's software duplication judged by a TPM through tpm2-tools alone: for an
# RSA and an ECC EK, an AES key sealed to PCRs 0,7 imports under the EK
# (tpm2_import, tpm2_load) and unseals with a PolicyPCR session; an RSA key
# signs (checked with openssl); after extending PCR 7 the TPM refuses both with
# a policy failure; a blob whose duplicate has one bit flipped does not import.
# shellcheck disable=SC2154 # tpm_up sets tpm1_TCTI
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

TOOL=$KL_BUILD_DIR/tests/kl_seal_tool
[ -x "$TOOL" ] || fail "no $TOOL"
command -v tpm2_import >/dev/null || skip "tpm2-tools not installed"
tpm_up tpm1
export TPM2TOOLS_TCTI=$tpm1_TCTI
cd "$T"

# no resource manager: every tool leaves its objects and sessions loaded
flush() {
        tpm2_flushcontext -t >/dev/null 2>&1 || true
        tpm2_flushcontext -l >/dev/null 2>&1 || true
        tpm2_flushcontext -s >/dev/null 2>&1 || true
}

# ek_session: s.ctx satisfies the EK's PolicySecret(endorsement)
ek_session() {
        tpm2_startauthsession --policy-session -S s.ctx >/dev/null &&
                tpm2_policysecret -S s.ctx -c e >/dev/null
}

# import_load PREFIX: PREFIX.ctx, the object imported and loaded under ek.ctx
import_load() {
        flush
        ek_session && tpm2_import -C ek.ctx -u "$1.pub" -i "$1.dup" -s "$1.seed" -r "$1.priv" \
                -P session:s.ctx >/dev/null 2>"$1.import.err" || return 1
        flush
        ek_session && tpm2_load -C ek.ctx -u "$1.pub" -r "$1.priv" -c "$1.ctx" -P session:s.ctx \
                >/dev/null || return 1
        flush
}

head -c 32 /dev/urandom >aes.key
openssl genrsa -out rsa.pem 2048 2>/dev/null
openssl rsa -in rsa.pem -pubout -out rsa.pub.pem 2>/dev/null
echo "message to sign" >msg

for alg in rsa ecc; do
        flush
        tpm2_createek -c ek.ctx -G "$alg" -u ek.pub >/dev/null || fail "$alg: tpm2_createek"
        tpm2_pcrread sha256:0,7 -o pcrs.bin >/dev/null || fail "tpm2_pcrread"
        "$TOOL" ek.pub sha256 0,7 pcrs.bin aes aes.key "aes-$alg" || fail "$alg: kl_seal_tool aes"
        "$TOOL" ek.pub sha256 0,7 pcrs.bin rsa rsa.pem "rsa-$alg" || fail "$alg: kl_seal_tool rsa"

        # the PolicyPCR digest tpm2-tools computes for the same PCRs
        flush
        tpm2_createpolicy --policy-pcr -l sha256:0,7 -f pcrs.bin -L tools.policy >/dev/null
        cmp -s tools.policy "aes-$alg.policy" || fail "$alg: PolicyPCR digest differs from tpm2-tools"

        import_load "aes-$alg" || fail "$alg: sealed AES key not imported: $(cat "aes-$alg.import.err")"
        tpm2_unseal -c "aes-$alg.ctx" -p pcr:sha256:0,7 >unsealed 2>/dev/null ||
                fail "$alg: tpm2_unseal refused"
        cmp -s unsealed aes.key || fail "$alg: unsealed bytes differ from the AES key"
        pass "$alg EK: AES key imported and unsealed under PolicyPCR"

        import_load "rsa-$alg" || fail "$alg: RSA key not imported: $(cat "rsa-$alg.import.err")"
        flush
        tpm2_sign -c "rsa-$alg.ctx" -p pcr:sha256:0,7 -g sha256 -s rsassa -f plain -o sig msg \
                >/dev/null 2>&1 || fail "$alg: tpm2_sign refused"
        openssl dgst -sha256 -verify rsa.pub.pem -signature sig msg >/dev/null ||
                fail "$alg: signature does not verify with the RSA public key"
        pass "$alg EK: RSA key imported, signs under PolicyPCR"

        # one bit of the encrypted sensitive area flipped: the outer HMAC fails
        cp "aes-$alg.dup" bad.dup
        printf '\x5a' | dd of=bad.dup bs=1 seek=40 conv=notrunc 2>/dev/null
        cp "aes-$alg.pub" bad.pub
        cp "aes-$alg.seed" bad.seed
        if import_load bad; then
                fail "$alg: a tampered duplicate imported"
        fi
        grep -qi integrity bad.import.err || fail "$alg: tamper refusal is not an integrity error: $(cat bad.import.err)"
        pass "$alg EK: tampered duplicate refused ($(grep -o 'tpm:[^ ]*' bad.import.err | head -1))"

        flush
        tpm2_pcrextend "7:sha256=$(printf '%064d' 1)" || fail "tpm2_pcrextend"
        flush
        if tpm2_unseal -c "aes-$alg.ctx" -p pcr:sha256:0,7 >/dev/null 2>err; then
                fail "$alg: unsealed after PCR 7 changed"
        fi
        grep -q "policy check failed" err || fail "$alg: unseal refusal is not a policy failure: $(cat err)"
        flush
        if tpm2_sign -c "rsa-$alg.ctx" -p pcr:sha256:0,7 -g sha256 -s rsassa -f plain -o sig msg \
                >/dev/null 2>err; then
                fail "$alg: signed after PCR 7 changed"
        fi
        grep -q "policy check failed" err || fail "$alg: sign refusal is not a policy failure: $(cat err)"
        pass "$alg EK: unseal and sign refused after PCR 7 was extended"
done
flush
