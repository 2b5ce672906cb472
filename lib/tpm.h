/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's TPM, through ESAPI. The only module that includes tss2_esys.h.
 * It owns the ESAPI context, the EK and the AK handles and flushes every
 * transient object and session it creates, on every path (swtpm without a
 * resource manager has only 3 transient slots). Every TSS error is
 * translated once, here, with Tss2_RC_Decode in the log line.
 *
 * Keys cross this interface as marshalled TPM structures (TPM2B_PUBLIC,
 * TPM2B_PRIVATE), the way Keylime sends and stores them.
 */
#ifndef KL_TPM_H
#define KL_TPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kl_tpm;

struct kl_tpm_options {
        const char *tcti;           /* NULL: $TCTI, else device:/dev/tpmrm0 (or /dev/tpm0) */
        const char *ek_handle;      /* "generate"/""/NULL: transient EK; else hex handle */
        const char *owner_password; /* endorsement auth; "hex:..." allowed; NULL = empty */
        const char *hash_alg;       /* "sha256" (default), "sha1", "sha384", "sha512" */
        const char *enc_alg;        /* "rsa"/"rsa2048" (default), "ecc"/"ecc256", ... */
        const char *sign_alg;       /* "rsassa" (default), "rsapss", "ecdsa", "ecschnorr" */
};

/*
 * Opens the TPM. On failure returns KL_ERR_TPM_OPEN (or KL_ERR_CONFIG for a
 * bad option) and writes one readable sentence into why, naming the TCTI
 * and the cause (e.g. "cannot open TPM via 'device:/dev/tpmrm0': No such
 * file or directory"). Sends TPM2_Startup(CLEAR), tolerating "already started".
 */
int kl_tpm_open(const struct kl_tpm_options *opts, struct kl_tpm **ret, char *why,
                size_t why_len);
/* Flushes transient objects it created (EK if transient, AK), finalises. NULL-safe. */
void kl_tpm_free(struct kl_tpm *tpm);
/* The TCTI string in use. */
const char *kl_tpm_tcti(const struct kl_tpm *tpm);

/* Creates the transient EK from the TCG default template, or reads the persistent one. */
int kl_tpm_ek_load(struct kl_tpm *tpm);
/* Flushes a transient EK (no-op for a persistent one). */
int kl_tpm_ek_flush(struct kl_tpm *tpm);
/* Marshalled TPM2B_PUBLIC of the EK; caller frees. */
int kl_tpm_ek_public(struct kl_tpm *tpm, uint8_t **ret_buf, size_t *ret_len);
/*
 * DER EK certificate from NV (0x01c00002 for RSA-2048, 0x01c0000a for
 * P-256, ...), read in chunks and trimmed to the first DER object.
 * KL_ERR_NOT_FOUND when the index does not exist.
 */
int kl_tpm_ek_cert(struct kl_tpm *tpm, uint8_t **ret_der, size_t *ret_len);
/*
 * EK CA chain certificates found in NV 0x01c00100..0x01c001ff, as an array of
 * DER buffers (*ret_n may be 0). Free with kl_tpm_der_list_free.
 */
int kl_tpm_ek_chain(struct kl_tpm *tpm, uint8_t ***ret_ders, size_t **ret_lens,
                    size_t *ret_n);
void kl_tpm_der_list_free(uint8_t **ders, size_t *lens, size_t n);

/* Persisted AK material: marshalled TPMT_PUBLIC (no size prefix) and TPM2B_PRIVATE buffer
 * (no size prefix), as Keylime's agent_data.json holds them. */
struct kl_tpm_ak_blob {
        uint8_t *pub;
        size_t pub_len;
        uint8_t *priv;
        size_t priv_len;
};
void kl_tpm_ak_blob_clear(struct kl_tpm_ak_blob *b);

/* Creates a restricted signing AK under the EK (EK policy session) and loads it. */
int kl_tpm_ak_create(struct kl_tpm *tpm, struct kl_tpm_ak_blob *ret_blob);
/* Loads a persisted AK under the EK; KL_ERR_TPM if the TPM refuses it (other EK, ...). */
int kl_tpm_ak_load(struct kl_tpm *tpm, const struct kl_tpm_ak_blob *blob);
/* Marshalled TPM2B_PUBLIC of the loaded AK; caller frees. */
int kl_tpm_ak_public(struct kl_tpm *tpm, uint8_t **ret_buf, size_t *ret_len);
/* "Sha256"-style names Keylime's Rust agent writes for the configured algorithms. */
const char *kl_tpm_hash_alg_rust_name(const struct kl_tpm *tpm);
const char *kl_tpm_sign_alg_rust_name(const struct kl_tpm *tpm);

/*
 * TPM2_ActivateCredential(AK, EK) on a credential blob (tpm2-tools layout,
 * see makecred.h), with the EK policy session PolicySecret(endorsement).
 * Returns the decrypted credential; caller frees with kl_secure_free.
 */
int kl_tpm_activate_credential(struct kl_tpm *tpm, const uint8_t *blob, size_t blob_len,
                               uint8_t **ret_secret, size_t *ret_len);

/*
 * PCR banks with at least one PCR allocated (TPM2_GetCapability TPM2_CAP_PCRS),
 * as a comma-separated list of lower-case names ("sha1,sha256") into out;
 * unknown algorithms appear as "0x000b"-style ids. KL_ERR_TOO_LONG if out is too small.
 */
int kl_tpm_pcr_banks(struct kl_tpm *tpm, char *out, size_t len);

#endif
