/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's TPM, part 5: objects a verifier duplicated to this TPM's EK
 * (duplicate.h): TPM2_Import under the EK, then Load and use through a
 * PolicyPCR session, Unseal for sealed data, Sign for RSA keys (TPM 2.0
 * Part 3, Import, Load, Unseal, Sign). What the agent keeps is only the
 * marshalled TPM2B_PUBLIC and the TPM2B_PRIVATE Import returns, which only
 * this TPM can load. The EK is left loaded or not, as it was.
 */
#include "tpm_internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "crypto.h"
#include "err.h"
#include "log.h"
#include "tpm_public.h"

/* The three inputs, unmarshalled; every buffer must be one whole structure. */
static int unmarshal_public(const uint8_t *buf, size_t len, TPM2B_PUBLIC *ret)
{
        size_t off = 0;

        memset(ret, 0, sizeof(*ret));
        if (buf == NULL || Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, ret) != TSS2_RC_SUCCESS ||
            off != len)
                return KL_ERR_INVAL;
        return 0;
}

static int unmarshal_private(const uint8_t *buf, size_t len, TPM2B_PRIVATE *ret)
{
        size_t off = 0;

        memset(ret, 0, sizeof(*ret));
        if (buf == NULL ||
            Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, len, &off, ret) != TSS2_RC_SUCCESS || off != len)
                return KL_ERR_INVAL;
        return 0;
}

/*
 * A TPM that checked a parameter (format 1, parameter bit) judged the blob:
 * a seed it cannot decrypt (another EK), a failed outer HMAC or binding.
 */
static int blob_err(const char *fn, TSS2_RC rc)
{
        TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

        if ((layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER) &&
            (rc & TPM2_RC_FMT1) && (rc & TPM2_RC_P)) {
                log_debug("%s: 0x%08x %s", fn, rc, Tss2_RC_Decode(rc));
                return KL_ERR_TPM_WRAP;
        }
        return kl_tpm_fail(fn, rc);
}

/* POLICY_FAIL on the PCR session: the PCRs moved since the object was sealed. */
static int use_err(const char *fn, TSS2_RC rc)
{
        if (kl_tpm_rc_base(rc) == TPM2_RC_POLICY_FAIL) {
                log_debug("%s: 0x%08x %s", fn, rc, Tss2_RC_Decode(rc));
                return KL_ERR_TPM_POLICY;
        }
        return kl_tpm_fail(fn, rc);
}

/* Loads pub/priv under the EK (which must be loaded) into *ret. */
static int load(struct kl_tpm *t, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv, ESYS_TR *ret)
{
        TSS2_RC rc = TSS2_RC_SUCCESS;
        int r = kl_tpm_load_under_ek(t, pub, priv, ret, &rc);

        return r < 0 && rc != TSS2_RC_SUCCESS ? blob_err("Esys_Load", rc) : r;
}

/*
 * Whether parent_name is the Name of the loaded EK. Only a clear early answer
 * for blobs wrapped for another TPM: the TPM's refusal is what protects.
 */
static bool is_ek_name(struct kl_tpm *t, const uint8_t *parent_name, size_t len)
{
        struct kl_tpm_public *ek = NULL;
        uint8_t name[2 + KL_MAX_DIGEST_LEN];
        uint8_t *buf = NULL;
        size_t buf_len = 0, name_len = 0;
        bool same = false;

        if (kl_tpm_marshal_public(&t->ek_pub, &buf, &buf_len) == 0 &&
            kl_tpm_public_parse(buf, buf_len, &ek) == 0 &&
            kl_tpm_public_name(ek, name, &name_len) == 0)
                same = name_len == len && memcmp(name, parent_name, len) == 0;
        kl_tpm_public_free(ek);
        free(buf);
        return same;
}

int kl_tpm_import(struct kl_tpm *t, const uint8_t *parent_name, size_t parent_name_len,
                  const uint8_t *pub_buf, size_t pub_len, const uint8_t *dup_buf, size_t dup_len,
                  const uint8_t *seed_buf, size_t seed_len, uint8_t **ret_priv,
                  size_t *ret_priv_len)
{
        TPM2B_PUBLIC pub;
        TPM2B_PRIVATE dup;
        TPM2B_ENCRYPTED_SECRET seed = {0};
        TPM2B_DATA no_inner_key = {0};
        TPMT_SYM_DEF_OBJECT no_inner = {.algorithm = TPM2_ALG_NULL};
        TPM2B_PRIVATE *out = NULL;
        ESYS_TR s = ESYS_TR_NONE, h = ESYS_TR_NONE;
        bool ek_was_loaded = t->ek != ESYS_TR_NONE;
        size_t off = 0;
        TSS2_RC rc;
        int r;

        if ((r = unmarshal_public(pub_buf, pub_len, &pub)) < 0 ||
            (r = unmarshal_private(dup_buf, dup_len, &dup)) < 0)
                goto out;
        if (seed_buf == NULL ||
            Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(seed_buf, seed_len, &off, &seed) !=
                TSS2_RC_SUCCESS ||
            off != seed_len) {
                r = KL_ERR_INVAL;
                goto out;
        }
        if ((r = kl_tpm_ek_load(t)) < 0)
                goto out;
        if (parent_name == NULL || !is_ek_name(t, parent_name, parent_name_len)) {
                log_debug("the blob names another parent than this TPM's EK");
                r = KL_ERR_TPM_WRAP;
                goto out;
        }
        if ((r = kl_tpm_ek_session_salted(t, TPMA_SESSION_ENCRYPT, &s)) < 0)
                goto out;
        rc = Esys_Import(t->esys, t->ek, s, ESYS_TR_NONE, ESYS_TR_NONE, &no_inner_key, &pub, &dup,
                         &seed, &no_inner, &out);
        kl_tpm_flush(t, &s);
        if (rc != TSS2_RC_SUCCESS) {
                r = blob_err("Esys_Import", rc);
                goto out;
        }
        /* Load checks what Import does not (the public/sensitive binding) */
        if ((r = load(t, &pub, out, &h)) < 0)
                goto out;
        kl_tpm_flush(t, &h);
        r = kl_tpm_marshal_private(out, ret_priv, ret_priv_len);
out:
        kl_tpm_flush(t, &h);
        kl_tpm_flush(t, &s);
        if (!ek_was_loaded)
                (void)kl_tpm_ek_flush(t);
        Esys_Free(out);
        explicit_bzero(&dup, sizeof(dup));
        return r;
}

/* Loads the object, then a PolicyPCR session for it; the EK as it was. */
static int load_with_pcr_session(struct kl_tpm *t, const uint8_t *pub_buf, size_t pub_len,
                                 const uint8_t *priv_buf, size_t priv_len, uint16_t bank,
                                 uint32_t mask, TPMA_SESSION crypt, ESYS_TR *ret_obj,
                                 ESYS_TR *ret_session)
{
        TPM2B_PUBLIC pub;
        TPM2B_PRIVATE priv;
        bool ek_was_loaded = t->ek != ESYS_TR_NONE;
        ESYS_TR h = ESYS_TR_NONE, s = ESYS_TR_NONE;
        int r;

        if ((r = unmarshal_public(pub_buf, pub_len, &pub)) < 0 ||
            (r = unmarshal_private(priv_buf, priv_len, &priv)) < 0)
                goto out;
        if ((r = kl_tpm_ek_load(t)) < 0 || (r = load(t, &pub, &priv, &h)) < 0 ||
            (r = kl_tpm_pcr_session(t, bank, mask, crypt, &s)) < 0)
                goto out;
        *ret_obj = h;
        *ret_session = s;
        h = s = ESYS_TR_NONE;
        r = 0;
out:
        kl_tpm_flush(t, &h);
        kl_tpm_flush(t, &s);
        if (!ek_was_loaded)
                (void)kl_tpm_ek_flush(t);
        explicit_bzero(&priv, sizeof(priv));
        return r;
}

int kl_tpm_unseal(struct kl_tpm *t, const uint8_t *pub, size_t pub_len, const uint8_t *priv,
                  size_t priv_len, uint16_t bank, uint32_t mask, uint8_t **ret_data,
                  size_t *ret_len)
{
        TPM2B_SENSITIVE_DATA *data = NULL;
        ESYS_TR h = ESYS_TR_NONE, s = ESYS_TR_NONE;
        uint8_t *out = NULL;
        TSS2_RC rc;
        int r;

        /* response encryption: the secret crosses the bus under the salted session key */
        r = load_with_pcr_session(t, pub, pub_len, priv, priv_len, bank, mask, TPMA_SESSION_ENCRYPT,
                                  &h, &s);
        if (r < 0)
                goto out;
        rc = Esys_Unseal(t->esys, h, s, ESYS_TR_NONE, ESYS_TR_NONE, &data);
        if (rc != TSS2_RC_SUCCESS) {
                r = use_err("Esys_Unseal", rc);
                goto out;
        }
        if ((out = malloc(data->size == 0 ? 1 : data->size)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        memcpy(out, data->buffer, data->size);
        *ret_data = out;
        *ret_len = data->size;
        r = 0;
out:
        kl_tpm_flush(t, &s);
        kl_tpm_flush(t, &h);
        if (data != NULL)
                explicit_bzero(data, sizeof(*data));
        Esys_Free(data);
        return r;
}

int kl_tpm_sign_rsassa(struct kl_tpm *t, const uint8_t *pub, size_t pub_len, const uint8_t *priv,
                       size_t priv_len, uint16_t bank, uint32_t mask, const uint8_t digest[32],
                       uint8_t **ret_sig, size_t *ret_len)
{
        TPM2B_DIGEST d = {.size = 32};
        TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_RSASSA,
                                  .details = {.rsassa = {.hashAlg = TPM2_ALG_SHA256}}};
        TPMT_TK_HASHCHECK none = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
        TPMT_SIGNATURE *sig = NULL;
        ESYS_TR h = ESYS_TR_NONE, s = ESYS_TR_NONE;
        uint8_t *out = NULL;
        TSS2_RC rc;
        int r;

        memcpy(d.buffer, digest, 32);
        r = load_with_pcr_session(t, pub, pub_len, priv, priv_len, bank, mask, 0, &h, &s);
        if (r < 0)
                goto out;
        rc = Esys_Sign(t->esys, h, s, ESYS_TR_NONE, ESYS_TR_NONE, &d, &scheme, &none, &sig);
        if (rc != TSS2_RC_SUCCESS) {
                r = use_err("Esys_Sign", rc);
                goto out;
        }
        if (sig->sigAlg != TPM2_ALG_RSASSA || sig->signature.rsassa.sig.size == 0) {
                r = KL_ERR_TPM;
                goto out;
        }
        if ((out = malloc(sig->signature.rsassa.sig.size)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        memcpy(out, sig->signature.rsassa.sig.buffer, sig->signature.rsassa.sig.size);
        *ret_sig = out;
        *ret_len = sig->signature.rsassa.sig.size;
        r = 0;
out:
        kl_tpm_flush(t, &s);
        kl_tpm_flush(t, &h);
        Esys_Free(sig);
        return r;
}
