/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AK attribute policy (see ak_check.h): pure TPM-structure logic on an
 * unmarshalled TPMT_PUBLIC, shared by the registrar and verifier stubs.
 */
#include "ak_check.h"

#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "hash_alg.h"
#include "quote.h"
#include "tpm_public.h"

/* The attributes of an AK, exactly (tpm2_createak's set; Keylime's AK_EXPECTED_ATTRS). */
#define AK_ATTRS                                                                                   \
        (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |        \
         TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

static const struct {
        TPMA_OBJECT bit;
        const char *name;
        const char *meaning; /* what its absence or presence means for an AK */
} attr_names[] = {
    {TPMA_OBJECT_FIXEDTPM, "fixedTPM", "duplicable out of its TPM"},
    {TPMA_OBJECT_FIXEDPARENT, "fixedParent", "duplicable to another parent"},
    {TPMA_OBJECT_SENSITIVEDATAORIGIN, "sensitiveDataOrigin", "private key made outside the TPM"},
    {TPMA_OBJECT_USERWITHAUTH, "userWithAuth", "not usable with its own authorisation"},
    {TPMA_OBJECT_ADMINWITHPOLICY, "adminWithPolicy", "administered by policy"},
    {TPMA_OBJECT_NODA, "noDA", "exempt from dictionary-attack protection"},
    {TPMA_OBJECT_ENCRYPTEDDUPLICATION, "encryptedDuplication", "meant for duplication"},
    {TPMA_OBJECT_RESTRICTED, "restricted", "signs any digest, so it can forge quotes"},
    {TPMA_OBJECT_DECRYPT, "decrypt", "also a decryption key"},
    {TPMA_OBJECT_SIGN_ENCRYPT, "sign", "not a signing key"},
};

static const char *const sign_names[] = {"rsassa", "rsapss", "ecdsa", "ecschnorr"};

/* name is one of the comma-separated entries of list. */
static bool listed(const char *list, const char *name)
{
        size_t n = strlen(name);

        for (const char *p = list; *p != '\0';) {
                size_t len = strcspn(p, ",");

                if (len == n && memcmp(p, name, n) == 0)
                        return true;
                p += len;
                if (*p == ',')
                        p++;
        }
        return false;
}

/* A supported hash algorithm of the one table, given as len bytes at name. */
static bool hash_known(const char *name, size_t len)
{
        char buf[16];

        if (len >= sizeof(buf))
                return false;
        memcpy(buf, name, len);
        buf[len] = '\0';
        return kl_hash_alg_from_name(buf) != 0;
}

static bool sign_known(const char *name, size_t len)
{
        for (size_t i = 0; i < sizeof(sign_names) / sizeof(sign_names[0]); i++)
                if (strlen(sign_names[i]) == len && memcmp(name, sign_names[i], len) == 0)
                        return true;
        return false;
}

/* Every entry of list is known. */
static bool list_valid(const char *list, bool (*known)(const char *name, size_t len))
{
        if (list == NULL || *list == '\0')
                return false;
        for (const char *p = list; *p != '\0';) {
                size_t len = strcspn(p, ",");

                if (!known(p, len))
                        return false;
                p += len;
                if (*p == ',' && *++p == '\0')
                        return false;
        }
        return true;
}

bool kl_ak_hash_algs_valid(const char *list)
{
        return list_valid(list, hash_known);
}

bool kl_ak_sign_algs_valid(const char *list)
{
        return list_valid(list, sign_known);
}

static const char *scheme_name(TPM2_ALG_ID scheme)
{
        switch (scheme) {
        case TPM2_ALG_RSASSA:
                return "rsassa";
        case TPM2_ALG_RSAPSS:
                return "rsapss";
        case TPM2_ALG_ECDSA:
                return "ecdsa";
        case TPM2_ALG_ECSCHNORR:
                return "ecschnorr";
        default:
                return NULL;
        }
}

static int check_attrs(TPMA_OBJECT attrs, char *why, size_t why_len)
{
        for (size_t i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++) {
                bool want = (AK_ATTRS & attr_names[i].bit) != 0;
                bool have = (attrs & attr_names[i].bit) != 0;

                if (want != have) {
                        kl_why_set(why, why_len, "AK is not a restricted signing key: %s %s (%s)",
                                   want ? "lacks" : "has", attr_names[i].name,
                                   attr_names[i].meaning);
                        return KL_ERR_VERIFY;
                }
        }
        if (attrs != AK_ATTRS) {
                kl_why_set(why, why_len, "AK has unexpected object attributes 0x%08x",
                           (unsigned)attrs);
                return KL_ERR_VERIFY;
        }
        return 0;
}

int kl_ak_check(const struct kl_tpm_public *ak, const char *hash_algs, const char *sign_algs,
                char *why, size_t why_len)
{
        const TPMT_PUBLIC *pub = kl_tpm_public_area(ak);
        TPM2_ALG_ID scheme_id;
        TPMI_ALG_HASH scheme_hash_id;
        const char *name_alg, *scheme, *scheme_hash;
        int r;

        if (hash_algs == NULL)
                hash_algs = KL_AK_HASH_ALGS_DEFAULT;
        if (sign_algs == NULL)
                sign_algs = KL_AK_SIGN_ALGS_DEFAULT;
        if (pub->type == TPM2_ALG_RSA) {
                scheme_id = pub->parameters.rsaDetail.scheme.scheme;
                scheme_hash_id = pub->parameters.rsaDetail.scheme.details.anySig.hashAlg;
        } else if (pub->type == TPM2_ALG_ECC) {
                scheme_id = pub->parameters.eccDetail.scheme.scheme;
                scheme_hash_id = pub->parameters.eccDetail.scheme.details.anySig.hashAlg;
        } else {
                kl_why_set(why, why_len, "AK is not an RSA or ECC key (type 0x%04x)", pub->type);
                return KL_ERR_VERIFY;
        }
        if ((r = check_attrs(pub->objectAttributes, why, why_len)) < 0)
                return r;
        name_alg = kl_hash_alg_name(pub->nameAlg);
        if (name_alg == NULL || !listed(hash_algs, name_alg)) {
                kl_why_set(why, why_len, "AK name algorithm %s (0x%04x) is not accepted (%s)",
                           name_alg != NULL ? name_alg : "unknown", pub->nameAlg, hash_algs);
                return KL_ERR_VERIFY;
        }
        scheme = scheme_name(scheme_id);
        if (scheme == NULL || !listed(sign_algs, scheme)) {
                kl_why_set(why, why_len, "AK signing scheme %s (0x%04x) is not accepted (%s)",
                           scheme != NULL ? scheme : "unknown", scheme_id, sign_algs);
                return KL_ERR_VERIFY;
        }
        scheme_hash = kl_hash_alg_name(scheme_hash_id);
        if (scheme_hash == NULL || !listed(hash_algs, scheme_hash)) {
                kl_why_set(why, why_len, "AK %s hash %s (0x%04x) is not accepted (%s)", scheme,
                           scheme_hash != NULL ? scheme_hash : "unknown", scheme_hash_id,
                           hash_algs);
                return KL_ERR_VERIFY;
        }
        return 0;
}
