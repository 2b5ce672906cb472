/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's TPM, through ESAPI, in files with one job each:
 * tpm_context.c (options, TCTI and context, errors), tpm_ek.c (EK and its NV
 * certificates), tpm_ak.c (AK, ActivateCredential), tpm_pcr.c (PCRs, quotes),
 * tpm_session.c (EK and PolicyPCR sessions), tpm_sealed.c (imported objects),
 * tpm_certified.c (keys the AK certifies);
 * they share tpm_internal.h and are the only files that include tss2_esys.h.
 * The module owns the ESAPI context, the EK and the AK handles and flushes every
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
        /*
         * The TPM's owner (the agent serving) sets this: without a resource
         * manager, objects and sessions already loaded are a killed
         * predecessor's and are flushed. A passer-by (--check, benchmarks,
         * tools) must not: they would be a running agent's.
         */
        bool flush_leftovers;
};

/*
 * Opens the TPM. On failure returns KL_ERR_TPM_OPEN (or KL_ERR_CONFIG for a
 * bad option) and writes one readable sentence into why, naming the TCTI
 * and the cause (e.g. "cannot open TPM via 'device:/dev/tpmrm0': No such
 * file or directory"). Sends TPM2_Startup(CLEAR), tolerating "already started".
 */
int kl_tpm_open(const struct kl_tpm_options *opts, struct kl_tpm **ret, char *why, size_t why_len);
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
int kl_tpm_ek_chain(struct kl_tpm *tpm, uint8_t ***ret_ders, size_t **ret_lens, size_t *ret_n);
void kl_tpm_der_list_free(uint8_t **ders, size_t *lens, size_t n);
/* TCG EK Credential Profile 2.5, 2.2.1.5: the platform certificate's NV index. */
#define KL_TPM_NV_PLATFORM_CERT 0x01c08000u
/*
 * The DER object stored in NV index (owner or index auth, chunked, trimmed to
 * the object, as for EK certificates). KL_ERR_NOT_FOUND when it is not defined,
 * KL_ERR_INVAL when it holds no DER SEQUENCE.
 */
int kl_tpm_nv_read_der(struct kl_tpm *tpm, uint32_t index, uint8_t **ret_der, size_t *ret_len);

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

/* ---- objects duplicated to the EK (duplicate.h; tpm_sealed.c) ---- */
/*
 * TPM2_Import of a duplicate (marshalled TPM2B_PUBLIC, TPM2B_PRIVATE,
 * TPM2B_ENCRYPTED_SECRET, no inner wrapper) under the EK, then a trial Load.
 * parent_name is the Name of the EK the sender wrapped for: another one is
 * refused before the TPM sees the blob. Returns the TPM2B_PRIVATE to keep
 * (caller frees). KL_ERR_INVAL when an input is not one whole structure;
 * KL_ERR_TPM_WRAP when the blob is for another EK or the TPM refuses it
 * (altered).
 */
int kl_tpm_import(struct kl_tpm *tpm, const uint8_t *parent_name, size_t parent_name_len,
                  const uint8_t *pub, size_t pub_len, const uint8_t *dup, size_t dup_len,
                  const uint8_t *seed, size_t seed_len, uint8_t **ret_priv, size_t *ret_priv_len);
/*
 * Loads an imported sealed data object and unseals it through a salted
 * PolicyPCR session over mask of bank, the result encrypted on the bus.
 * KL_ERR_TPM_POLICY when the PCRs no longer hold the sealed-to values.
 * Caller frees *ret_data with kl_secure_free.
 */
int kl_tpm_unseal(struct kl_tpm *tpm, const uint8_t *pub, size_t pub_len, const uint8_t *priv,
                  size_t priv_len, uint16_t bank, uint32_t mask, uint8_t **ret_data,
                  size_t *ret_len);
/*
 * Loads an imported RSA key and signs a SHA-256 digest (RSASSA-PKCS1-v1_5)
 * through a PolicyPCR session. KL_ERR_TPM_POLICY as above. Caller frees *ret_sig.
 */
int kl_tpm_sign_rsassa(struct kl_tpm *tpm, const uint8_t *pub, size_t pub_len, const uint8_t *priv,
                       size_t priv_len, uint16_t bank, uint32_t mask, const uint8_t digest[32],
                       uint8_t **ret_sig, size_t *ret_len);

/* ---- signing keys the AK certifies (certified-key.md; tpm_certified.c) ---- */
struct kl_tpm_certified {
        uint8_t *pub; /* marshalled TPM2B_PUBLIC */
        size_t pub_len;
        uint8_t *priv; /* marshalled TPM2B_PRIVATE: only this TPM can load it */
        size_t priv_len;
        uint8_t *attest; /* TPMS_ATTEST (CERTIFY) by the AK, and its TPMT_SIGNATURE */
        size_t attest_len;
        uint8_t *sig;
        size_t sig_len;
};
void kl_tpm_certified_clear(struct kl_tpm_certified *c); /* NULL-safe; wipes priv */
/*
 * Creates an unrestricted signing key under the EK (RSA-2048, or P-256 when
 * ecc; fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, sign;
 * scheme NULL), through an EK-salted, command-encrypted session, loads it
 * and has the loaded AK certify it over qual (1..64 bytes). Needs the AK.
 */
int kl_tpm_certified_create(struct kl_tpm *tpm, bool ecc, const uint8_t *qual, size_t qual_len,
                            struct kl_tpm_certified *ret);
/*
 * Loads a key kl_tpm_certified_create made and signs a SHA-256 digest with
 * it: RSASSA-PKCS1-v1_5 (or, with rsa_pss, RSASSA-PSS with a 32-byte salt)
 * bytes, or a DER ECDSA-Sig-Value (caller frees).
 * KL_ERR_INVAL when pub or priv is not one whole structure.
 */
int kl_tpm_certified_sign(struct kl_tpm *tpm, const uint8_t *pub, size_t pub_len,
                          const uint8_t *priv, size_t priv_len, const uint8_t digest[32],
                          bool rsa_pss, uint8_t **ret_sig, size_t *ret_len);

/*
 * PCR banks with at least one PCR allocated (TPM2_GetCapability TPM2_CAP_PCRS),
 * as a comma-separated list of lower-case names ("sha1,sha256") into out;
 * unknown algorithms appear as "0x000b"-style ids. KL_ERR_TOO_LONG if out is too small.
 */
int kl_tpm_pcr_banks(struct kl_tpm *tpm, char *out, size_t len);

/* ---- quotes and PCRs (Keylime /quotes, quote-format.md section 4) ---- */
struct kl_pcr_set;
/*
 * TPM2_PCR_Reset, then TPM2_PCR_Extend of `digest` (len = the bank's digest
 * size) into `pcr` in the configured bank. Only resettable PCRs (16, 23 at
 * locality 0) succeed.
 */
int kl_tpm_pcr_reset_extend(struct kl_tpm *tpm, unsigned pcr, const uint8_t *digest, size_t len);
/*
 * Quote over mask (bits 0..23, not 0; else KL_ERR_INVAL) in the configured
 * bank with the loaded AK and scheme; qualifying data = the nonce bytes
 * (at most 64; KL_ERR_INVAL also when the TPM's TPM2B_DATA cannot hold them).
 * Reads the selected PCRs first (8 per PCR_Read), then quotes, and checks
 * H(values) == pcrDigest of the quote; retries up to 5 times when PCRs
 * changed in between (then KL_ERR_TPM_RETRY). Returns the marshalled
 * TPMS_ATTEST (without TPM2B size) and TPMT_SIGNATURE (caller frees both),
 * and the PCR values.
 */
int kl_tpm_quote(struct kl_tpm *tpm, const uint8_t *nonce, size_t nonce_len, uint32_t mask,
                 uint8_t **ret_attest, size_t *ret_attest_len, uint8_t **ret_sig,
                 size_t *ret_sig_len, struct kl_pcr_set *ret_pcrs);
/* Reads the PCRs of mask (bits 0..23) in bank hash_alg (TPM_ALG_ID). */
int kl_tpm_pcr_read(struct kl_tpm *tpm, uint16_t hash_alg, uint32_t mask, struct kl_pcr_set *ret);
/*
 * TPM2_Certify of the AK by itself (push model proof of possession, proto
 * push-model.md section 3): qualifying data = the verifier's decoded
 * challenge (1..64 bytes, KL_ERR_INVAL otherwise). Returns the marshalled
 * TPMS_ATTEST (type CERTIFY, without TPM2B size) and TPMT_SIGNATURE; caller frees.
 */
int kl_tpm_certify_ak(struct kl_tpm *tpm, const uint8_t *qual, size_t qual_len,
                      uint8_t **ret_attest, size_t *ret_attest_len, uint8_t **ret_sig,
                      size_t *ret_sig_len);
/*
 * Configured algorithms as the agent API reports them: hash "sha256"; enc
 * "rsa"/"ecc", or "rsa2048"/"ecc256" with sized_names (API >= 2.5); sign
 * "rsassa"/"rsapss"/"ecdsa"/"ecschnorr". Static strings.
 */
const char *kl_tpm_hash_alg_name(const struct kl_tpm *tpm);
const char *kl_tpm_enc_alg_name(const struct kl_tpm *tpm, bool sized_names);
const char *kl_tpm_sign_alg_name(const struct kl_tpm *tpm);
/* ESYS_TR of the loaded AK (reported as ak_handle by /agent/info); ESYS_TR_NONE if none. */
uint32_t kl_tpm_ak_handle(const struct kl_tpm *tpm);

#endif
