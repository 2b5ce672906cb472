/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier stub's parser of an agent's answer to POST /keys/certify
 * (ver_certify_parse_answer: JSON, the results object, three base64
 * members), then every check kl_certified_check makes of it: the AK's
 * TPMT_SIGNATURE, the TPMS_ATTEST of type CERTIFY, the nonce, the
 * TPM2B_PUBLIC, its Name and attributes. Input: the answer's body. The AK is
 * the RSA-2048 AK of a test-bed swtpm; corpus/certify_answer/tpm-ecc is that
 * TPM's answer over the nonce below, so seeds reach every check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certified.h"
#include "certify.h"
#include "hex.h"
#include "tpm_public.h"

#define NONCE "earlier0request"

static const char ak_hex[] =
    "01180001000b00050072000000100014000b0800000000000100bd5fea6bb1a51a2add03f5d1afa1f7fdeaba"
    "0f593da03075fc70939bb8abfdb1132eef428f433732123cbac79ffabe7e2114125627ef25ecd0ec1cf167a1"
    "307c5365f2a0b7f8de260e59455e43fbb6ba66c9ae66ba3553408559c76644669c060af616856074c762e69e"
    "b36d96ca3ccf518e3f5636f177bee008b7ef3802b3ccc8d935c8603a37071519a7dbea38a61c10a2c90874eb"
    "b29f483e1f3a74739393fd91ce6ae6bbc79e7ab103e2b2c4baf8aa83e1285ef86a68b8f0a4b1240ca46c4348"
    "a281d84eeef8e7faf88ae95dcb2111bd6c750be7094d205371d01fae545b6c21df1a79c30bbc378db28765b9"
    "4b3b9b8483bc4368f9ebfef9105f317fc5bb";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct kl_tpm_public *ak;
        struct ver_certify_answer ans;
        struct kl_tpm_public *key = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;
        char why[256];

        if (ak == NULL) {
                if (kl_hex_decode(ak_hex, strlen(ak_hex), &buf, &len) < 0 ||
                    kl_tpm_public_parse(buf, len, &ak) < 0)
                        abort();
                free(buf);
        }
        if (ver_certify_parse_answer((const char *)data, size, &ans) < 0)
                return 0;
        if (kl_certified_check(ak, NONCE, ans.pub, ans.pub_len, ans.attest, ans.attest_len, ans.sig,
                               ans.sig_len, &key, why, sizeof(why)) == 0)
                kl_tpm_public_free(key);
        ver_certify_answer_clear(&ans);
        return 0;
}
