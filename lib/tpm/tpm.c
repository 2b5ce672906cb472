/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's TPM through ESAPI: the only file that includes tss2_esys.h.
 * It owns the ESAPI context and the EK and AK handles, and flushes every
 * transient object and session it creates on every path, because swtpm and
 * /dev/tpm0 without a resource manager keep them after we exit and offer only
 * three object slots. Every TSS return code is logged once, where it is met,
 * with Tss2_RC_Decode, and translated with tpm_err().
 *
 * References: TCG EK Credential Profile 2.5 (templates L-1/L-2, NV indices),
 * TPM 2.0 Part 3 (ActivateCredential, PolicySecret), Keylime registrar API
 * (aik_tpm is a TPM2B_PUBLIC; agent_data.json holds TPMT_PUBLIC and the
 * TPM2B_PRIVATE buffer without size prefixes).
 */
#include "tpm.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "err.h"
#include "hash_alg.h"
#include "hex.h"
#include "log.h"
#include "makecred.h"
#include "quote.h"

#define NV_EK_CERT_RSA2048 0x01c00002u
#define NV_EK_CERT_P256    0x01c0000au
#define NV_EK_CHAIN_FIRST  0x01c00100u
#define NV_EK_CHAIN_LAST   0x01c001ffu
#define NV_BUFFER_FALLBACK 512u
/* TPM2_PERSISTENT_FIRST/LAST shift a signed 0x81 by 24 bits (UB): spell them out. */
#define PERSISTENT_FIRST 0x81000000u
#define PERSISTENT_LAST  0x81ffffffu
/* An EK certificate bigger than this is not a certificate (NV indices are small). */
#define NV_CERT_MAX (64u * 1024u)

/* PolicySecret(TPM_RH_ENDORSEMENT) digest of the TCG default EK templates. */
static const uint8_t ek_policy_sha256[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
    0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

struct kl_tpm {
        TSS2_TCTI_CONTEXT *tcti_ctx;
        ESYS_CONTEXT *esys;
        char *tcti;

        TPMI_ALG_HASH hash_alg;
        TPMI_ALG_PUBLIC key_alg; /* TPM2_ALG_RSA (2048) or TPM2_ALG_ECC (P-256) */
        TPMI_ALG_SIG_SCHEME sign_alg;
        TPM2B_AUTH endorsement_auth; /* secret: wiped in kl_tpm_free */
        TPM2_HANDLE ek_persistent;   /* 0: transient EK from the template */

        ESYS_TR ek; /* ESYS_TR_NONE when not loaded */
        TPM2B_PUBLIC ek_pub;
        ESYS_TR ak;
        TPM2B_PUBLIC ak_pub;
        UINT32 nv_buffer_max; /* 0 until asked */
};

/* ---- error translation ------------------------------------------------- */

/* The TPM's own response code without layer, handle/parameter/session bits. */
static TSS2_RC tpm_rc_base(TSS2_RC rc)
{
        TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
        TSS2_RC r = rc & 0xffffu;

        if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
                return rc;
        if (r & TPM2_RC_FMT1)
                return r & (TPM2_RC_FMT1 | 0x3fu);
        return r;
}

/* Keep apart the codes a caller acts on: retry later, wrong password, lockout. */
static int tpm_err(TSS2_RC rc)
{
        switch (tpm_rc_base(rc)) {
        case TPM2_RC_RETRY:
        case TPM2_RC_TESTING:
        case TPM2_RC_YIELDED:
                return KL_ERR_TPM_RETRY;
        case TPM2_RC_LOCKOUT:
                return KL_ERR_TPM_LOCKOUT;
        case TPM2_RC_AUTH_FAIL:
        case TPM2_RC_BAD_AUTH:
        case TPM2_RC_POLICY_FAIL:
        case TPM2_RC_AUTH_MISSING:
        case TPM2_RC_AUTH_UNAVAILABLE:
                return KL_ERR_TPM_AUTH;
        case TPM2_RC_HANDLE:
        case TPM2_RC_REFERENCE_H0:
                return KL_ERR_TPM_HANDLE;
        default:
                return KL_ERR_TPM;
        }
}

static int tss_fail(const char *fn, TSS2_RC rc)
{
        log_error("%s: 0x%08x %s", fn, rc, Tss2_RC_Decode(rc));
        return tpm_err(rc);
}

static void flush(struct kl_tpm *t, ESYS_TR *h)
{
        TSS2_RC rc;

        if (*h == ESYS_TR_NONE)
                return;
        rc = Esys_FlushContext(t->esys, *h);
        if (rc != TSS2_RC_SUCCESS)
                log_warn("Esys_FlushContext: 0x%08x %s (ignoring)", rc, Tss2_RC_Decode(rc));
        *h = ESYS_TR_NONE;
}

/* ---- options ------------------------------------------------------------ */

static bool str_is(const char *s, const char *a)
{
        return strcasecmp(s, a) == 0;
}

/* Spellings and case rule: hash_alg.h, the same table config.c checks against. */
static int parse_hash(const char *s, TPMI_ALG_HASH *ret, char *why, size_t why_len)
{
        const struct kl_hash_alg *h;

        if (s == NULL || *s == '\0') {
                *ret = TPM2_ALG_SHA256;
                return 0;
        }
        if ((h = kl_hash_alg_by_name(s)) == NULL) {
                kl_why_set(why, why_len, "unknown tpm_hash_alg '%.40s'", s);
                return KL_ERR_CONFIG;
        }
        if (!h->supported) {
                kl_why_set(why, why_len, "tpm_hash_alg '%s' is not supported", s);
                return KL_ERR_UNSUPPORTED;
        }
        *ret = h->id;
        return 0;
}

static int parse_enc(const char *s, TPMI_ALG_PUBLIC *ret, char *why, size_t why_len)
{
        static const char *const later[] = {
            "rsa1024",       "rsa3072",       "rsa4096",      "ecc192",        "ecc224",
            "ecc384",        "ecc521",        "ecc_sm2",      "ecc_nist_p192", "ecc_nist_p224",
            "ecc_nist_p384", "ecc_nist_p521", "ecc_sm2_p256",
        };
        size_t i;

        if (s == NULL || *s == '\0' || str_is(s, "rsa") || str_is(s, "rsa2048")) {
                *ret = TPM2_ALG_RSA;
                return 0;
        }
        if (str_is(s, "ecc") || str_is(s, "ecc256") || str_is(s, "ecc_nist_p256")) {
                *ret = TPM2_ALG_ECC;
                return 0;
        }
        for (i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
                if (str_is(s, later[i])) {
                        kl_why_set(
                            why, why_len,
                            "tpm_encryption_alg '%s' is not supported (use rsa2048 or ecc256)", s);
                        return KL_ERR_UNSUPPORTED;
                }
        }
        kl_why_set(why, why_len, "unknown tpm_encryption_alg '%.40s'", s);
        return KL_ERR_CONFIG;
}

static int parse_sign(const char *s, TPMI_ALG_PUBLIC key, TPMI_ALG_SIG_SCHEME *ret, char *why,
                      size_t why_len)
{
        TPMI_ALG_SIG_SCHEME a;

        if (s == NULL || *s == '\0')
                a = key == TPM2_ALG_RSA ? TPM2_ALG_RSASSA : TPM2_ALG_ECDSA;
        else if (str_is(s, "rsassa"))
                a = TPM2_ALG_RSASSA;
        else if (str_is(s, "rsapss"))
                a = TPM2_ALG_RSAPSS;
        else if (str_is(s, "ecdsa"))
                a = TPM2_ALG_ECDSA;
        else if (str_is(s, "ecschnorr"))
                a = TPM2_ALG_ECSCHNORR;
        else {
                kl_why_set(why, why_len, "unknown tpm_signing_alg '%.40s'", s);
                return KL_ERR_CONFIG;
        }
        if ((key == TPM2_ALG_RSA) != (a == TPM2_ALG_RSASSA || a == TPM2_ALG_RSAPSS)) {
                kl_why_set(why, why_len, "tpm_signing_alg '%s' does not fit the %s key", s,
                           key == TPM2_ALG_RSA ? "RSA" : "ECC");
                return KL_ERR_CONFIG;
        }
        *ret = a;
        return 0;
}

/* Plain text, or "hex:..." for binary authorisation values (Keylime syntax). */
static int parse_auth(const char *s, TPM2B_AUTH *ret, char *why, size_t why_len)
{
        size_t i, n;

        memset(ret, 0, sizeof(*ret));
        if (s == NULL)
                return 0;
        if (strncmp(s, "hex:", 4) == 0) {
                s += 4;
                n = strlen(s);
                if (n % 2 != 0 || n / 2 > sizeof(ret->buffer))
                        goto bad;
                for (i = 0; i < n / 2; i++) {
                        int hi = kl_hex_digit_value(s[2 * i]),
                            lo = kl_hex_digit_value(s[2 * i + 1]);

                        if (hi < 0 || lo < 0)
                                goto bad;
                        ret->buffer[i] = (BYTE)(hi << 4 | lo);
                }
                ret->size = (UINT16)(n / 2);
                return 0;
        }
        n = strlen(s);
        if (n > sizeof(ret->buffer))
                goto bad;
        memcpy(ret->buffer, s, n);
        ret->size = (UINT16)n;
        return 0;
bad:
        explicit_bzero(ret, sizeof(*ret));
        /* never quote the password itself */
        kl_why_set(why, why_len,
                   "tpm_ownerpassword is not valid (at most %zu bytes; hex: needs "
                   "an even number of hex digits)",
                   sizeof(ret->buffer));
        return KL_ERR_CONFIG;
}

static int parse_ek_handle(const char *s, TPM2_HANDLE *ret, char *why, size_t why_len)
{
        unsigned long v;
        char *end = NULL;

        *ret = 0;
        if (s == NULL || *s == '\0' || str_is(s, "generate"))
                return 0;
        errno = 0;
        /* strtoul takes an optional 0x in base 16, but also blanks and a sign */
        v = strtoul(s, &end, 16);
        if (kl_hex_digit_value(s[0]) < 0 || errno != 0 || end == s || *end != '\0' ||
            v < PERSISTENT_FIRST || v > PERSISTENT_LAST) {
                kl_why_set(why, why_len,
                           "ek_handle '%.40s' is not a persistent handle "
                           "(0x81000000..0x81ffffff) nor 'generate'",
                           s);
                return KL_ERR_CONFIG;
        }
        *ret = (TPM2_HANDLE)v;
        return 0;
}

/* ---- open / free ------------------------------------------------------- */

/* Explains a TCTI that would not load: for devices the errno of the node. */
/* The value of key= in a TCTI configuration "name:k1=v1,k2=v2", or def. */
static void tcti_param(const char *tcti, const char *key, const char *def, char *out,
                       size_t out_len)
{
        const char *conf = strchr(tcti, ':'), *p;
        size_t klen = strlen(key);

        snprintf(out, out_len, "%s", def);
        for (p = conf; p != NULL; p = strchr(p, ',')) {
                p++;
                if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
                        snprintf(out, out_len, "%.*s", (int)strcspn(p + klen + 1, ","),
                                 p + klen + 1);
                        return;
                }
        }
}

/*
 * For socket TCTIs, tctildr only says "IO failure": try the connection the
 * TCTI makes first (swtpm: the control port, data port + 1) to name the cause.
 */
static bool explain_socket_tcti(const char *tcti, char *why, size_t why_len)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        char host[256], port[16], ctrl[16];
        unsigned long p;
        bool explained = false;
        int fd;

        if (strncmp(tcti, "swtpm", 5) != 0 && strncmp(tcti, "mssim", 5) != 0)
                return false;
        tcti_param(tcti, "host", "localhost", host, sizeof(host));
        tcti_param(tcti, "port", "2321", port, sizeof(port));
        p = strtoul(port, NULL, 10);
        snprintf(ctrl, sizeof(ctrl), "%lu", p + 1);
        if (getaddrinfo(host, ctrl, &hints, &ai) != 0)
                return false;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
                kl_why_set(why, why_len,
                           "cannot open TPM via '%s': cannot connect to %s port %s: %s", tcti, host,
                           ctrl, strerror(errno));
                explained = true;
        }
        if (fd >= 0)
                close(fd);
        freeaddrinfo(ai);
        return explained;
}

static void explain_tcti(const char *tcti, TSS2_RC rc, char *why, size_t why_len)
{
        const char *path = NULL;

        if (explain_socket_tcti(tcti, why, why_len))
                return;

        if (strcmp(tcti, "device") == 0)
                path = "/dev/tpm0";
        else if (strncmp(tcti, "device:", 7) == 0)
                path = tcti + 7;
        if (path != NULL && access(path, R_OK | W_OK) != 0) {
                kl_why_set(why, why_len, "cannot open TPM via '%s': %s", tcti, strerror(errno));
                return;
        }
        kl_why_set(why, why_len, "cannot open TPM via '%s': %s", tcti, Tss2_RC_Decode(rc));
}

int kl_tpm_open(const struct kl_tpm_options *opts, struct kl_tpm **ret, char *why, size_t why_len)
{
        static const struct kl_tpm_options none = {0};
        struct kl_tpm *t = NULL;
        const char *tcti;
        TSS2_RC rc;
        int r;

        kl_why_set(why, why_len, "%s", "");
        if (opts == NULL)
                opts = &none;
        if ((t = calloc(1, sizeof(*t))) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        t->ek = ESYS_TR_NONE;
        t->ak = ESYS_TR_NONE;
        if ((r = parse_hash(opts->hash_alg, &t->hash_alg, why, why_len)) < 0 ||
            (r = parse_enc(opts->enc_alg, &t->key_alg, why, why_len)) < 0 ||
            (r = parse_sign(opts->sign_alg, t->key_alg, &t->sign_alg, why, why_len)) < 0 ||
            (r = parse_auth(opts->owner_password, &t->endorsement_auth, why, why_len)) < 0 ||
            (r = parse_ek_handle(opts->ek_handle, &t->ek_persistent, why, why_len)) < 0)
                goto out;

        /* Never hand tctildr an empty string: it would probe devices and port 2321. */
        tcti = opts->tcti;
        if (tcti == NULL || *tcti == '\0')
                tcti = getenv("TCTI");
        if (tcti == NULL || *tcti == '\0')
                tcti = access("/dev/tpmrm0", F_OK) == 0 ? "device:/dev/tpmrm0" : "device:/dev/tpm0";
        if ((t->tcti = strdup(tcti)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }

        /* Open failures are reported once, through why; the raw codes go to debug. */
        rc = Tss2_TctiLdr_Initialize(t->tcti, &t->tcti_ctx);
        if (rc != TSS2_RC_SUCCESS) {
                log_debug("Tss2_TctiLdr_Initialize('%s'): 0x%08x %s", t->tcti, rc,
                          Tss2_RC_Decode(rc));
                explain_tcti(t->tcti, rc, why, why_len);
                t->tcti_ctx = NULL;
                r = KL_ERR_TPM_OPEN;
                goto out;
        }
        rc = Esys_Initialize(&t->esys, t->tcti_ctx, NULL);
        if (rc != TSS2_RC_SUCCESS) {
                log_debug("Esys_Initialize: 0x%08x %s", rc, Tss2_RC_Decode(rc));
                kl_why_set(why, why_len, "cannot open TPM via '%s': %s", t->tcti,
                           Tss2_RC_Decode(rc));
                t->esys = NULL;
                r = KL_ERR_TPM_OPEN;
                goto out;
        }
        rc = Esys_Startup(t->esys, TPM2_SU_CLEAR);
        if (rc != TSS2_RC_SUCCESS && tpm_rc_base(rc) != TPM2_RC_INITIALIZE) {
                log_debug("Esys_Startup: 0x%08x %s", rc, Tss2_RC_Decode(rc));
                kl_why_set(why, why_len, "TPM via '%s' does not answer TPM2_Startup: %s", t->tcti,
                           Tss2_RC_Decode(rc));
                r = KL_ERR_TPM_OPEN;
                goto out;
        }
        rc = Esys_TR_SetAuth(t->esys, ESYS_TR_RH_ENDORSEMENT, &t->endorsement_auth);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss_fail("Esys_TR_SetAuth", rc);
                kl_why_set(why, why_len, "cannot set the endorsement authorisation");
                r = KL_ERR_TPM_OPEN;
                goto out;
        }
        log_debug("TPM open via '%s'", t->tcti);
        *ret = t;
        t = NULL;
        r = 0;
out:
        kl_tpm_free(t);
        return r;
}

void kl_tpm_free(struct kl_tpm *t)
{
        if (t == NULL)
                return;
        if (t->esys != NULL) {
                flush(t, &t->ak);
                (void)kl_tpm_ek_flush(t);
                Esys_Finalize(&t->esys);
        }
        if (t->tcti_ctx != NULL)
                Tss2_TctiLdr_Finalize(&t->tcti_ctx);
        free(t->tcti);
        explicit_bzero(t, sizeof(*t)); /* the endorsement auth */
        free(t);
}

const char *kl_tpm_tcti(const struct kl_tpm *tpm)
{
        return tpm->tcti;
}

/* ---- EK ---------------------------------------------------------------- */

/* TCG EK Credential Profile, default templates L-1 (RSA 2048) and L-2 (P-256). */
static void ek_template(TPMI_ALG_PUBLIC alg, TPM2B_PUBLIC *p)
{
        TPMT_PUBLIC *a = &p->publicArea;

        memset(p, 0, sizeof(*p));
        a->type = alg;
        a->nameAlg = TPM2_ALG_SHA256;
        a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                              TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                              TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
        a->authPolicy.size = sizeof(ek_policy_sha256);
        memcpy(a->authPolicy.buffer, ek_policy_sha256, sizeof(ek_policy_sha256));
        if (alg == TPM2_ALG_RSA) {
                a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
                a->parameters.rsaDetail.symmetric.keyBits.aes = 128;
                a->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
                a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
                a->parameters.rsaDetail.keyBits = 2048;
                a->parameters.rsaDetail.exponent = 0;
                a->unique.rsa.size = 256; /* zeros: the size is part of the template */
        } else {
                a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
                a->parameters.eccDetail.symmetric.keyBits.aes = 128;
                a->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
                a->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
                a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
                a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
                a->unique.ecc.x.size = 32;
                a->unique.ecc.y.size = 32;
        }
}

int kl_tpm_ek_load(struct kl_tpm *t)
{
        TPM2B_SENSITIVE_CREATE sens = {0};
        TPM2B_DATA outside = {0};
        TPML_PCR_SELECTION pcrs = {0};
        TPM2B_PUBLIC tmpl;
        TPM2B_PUBLIC *pub = NULL;
        TPM2B_CREATION_DATA *cdata = NULL;
        TPM2B_DIGEST *chash = NULL;
        TPMT_TK_CREATION *ticket = NULL;
        TPM2B_NAME *name = NULL, *qname = NULL;
        ESYS_TR h = ESYS_TR_NONE;
        TSS2_RC rc;
        int r = KL_ERR_TPM;

        if (t->ek != ESYS_TR_NONE)
                return 0;
        if (t->ek_persistent != 0) {
                rc = Esys_TR_FromTPMPublic(t->esys, t->ek_persistent, ESYS_TR_NONE, ESYS_TR_NONE,
                                           ESYS_TR_NONE, &h);
                if (rc != TSS2_RC_SUCCESS) {
                        log_error("Esys_TR_FromTPMPublic(0x%08x): 0x%08x %s", t->ek_persistent, rc,
                                  Tss2_RC_Decode(rc));
                        r = tpm_err(rc);
                        goto out;
                }
                rc = Esys_ReadPublic(t->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
                                     &name, &qname);
                if (rc != TSS2_RC_SUCCESS) {
                        r = tss_fail("Esys_ReadPublic", rc);
                        goto out;
                }
        } else {
                ek_template(t->key_alg, &tmpl);
                rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD,
                                        ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs,
                                        &h, &pub, &cdata, &chash, &ticket);
                if (rc != TSS2_RC_SUCCESS) {
                        r = tss_fail("Esys_CreatePrimary", rc);
                        h = ESYS_TR_NONE;
                        goto out;
                }
        }
        t->ek_pub = *pub;
        t->ek = h;
        h = ESYS_TR_NONE;
        r = 0;
out:
        if (h != ESYS_TR_NONE) {
                if (t->ek_persistent != 0)
                        (void)Esys_TR_Close(t->esys, &h);
                else
                        flush(t, &h);
        }
        Esys_Free(pub);
        Esys_Free(cdata);
        Esys_Free(chash);
        Esys_Free(ticket);
        Esys_Free(name);
        Esys_Free(qname);
        return r;
}

int kl_tpm_ek_flush(struct kl_tpm *t)
{
        TSS2_RC rc;

        if (t == NULL || t->ek == ESYS_TR_NONE)
                return 0;
        if (t->ek_persistent != 0) {
                /* forget our reference only: the persistent key stays in the TPM */
                rc = Esys_TR_Close(t->esys, &t->ek);
                t->ek = ESYS_TR_NONE;
                return rc == TSS2_RC_SUCCESS ? 0 : tss_fail("Esys_TR_Close", rc);
        }
        rc = Esys_FlushContext(t->esys, t->ek);
        t->ek = ESYS_TR_NONE;
        return rc == TSS2_RC_SUCCESS ? 0 : tss_fail("Esys_FlushContext", rc);
}

static int marshal_public(const TPM2B_PUBLIC *pub, uint8_t **ret_buf, size_t *ret_len)
{
        uint8_t *buf = NULL;
        size_t off = 0;
        TSS2_RC rc;
        int r = KL_ERR_NOMEM;

        if ((buf = malloc(sizeof(TPM2B_PUBLIC))) == NULL)
                goto out;
        rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(TPM2B_PUBLIC), &off);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss_fail("Tss2_MU_TPM2B_PUBLIC_Marshal", rc);
                goto out;
        }
        *ret_buf = buf;
        *ret_len = off;
        buf = NULL;
        r = 0;
out:
        free(buf);
        return r;
}

int kl_tpm_ek_public(struct kl_tpm *t, uint8_t **ret_buf, size_t *ret_len)
{
        int r;

        if ((r = kl_tpm_ek_load(t)) < 0)
                return r;
        return marshal_public(&t->ek_pub, ret_buf, ret_len);
}

/* ---- NV: EK certificates -------------------------------------------------- */

static UINT32 nv_buffer_max(struct kl_tpm *t)
{
        TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more = TPM2_NO;
        TSS2_RC rc;

        if (t->nv_buffer_max != 0)
                return t->nv_buffer_max;
        t->nv_buffer_max = NV_BUFFER_FALLBACK;
        rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap);
        if (rc != TSS2_RC_SUCCESS) {
                log_warn("Esys_GetCapability(NV_BUFFER_MAX): 0x%08x %s (using %u)", rc,
                         Tss2_RC_Decode(rc), NV_BUFFER_FALLBACK);
        } else if (cap->data.tpmProperties.count >= 1 &&
                   cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX &&
                   cap->data.tpmProperties.tpmProperty[0].value > 0) {
                t->nv_buffer_max = cap->data.tpmProperties.tpmProperty[0].value;
        }
        Esys_Free(cap);
        if (t->nv_buffer_max > sizeof(((TPM2B_MAX_NV_BUFFER *)0)->buffer))
                t->nv_buffer_max = sizeof(((TPM2B_MAX_NV_BUFFER *)0)->buffer);
        return t->nv_buffer_max;
}

/*
 * Length of the DER object at the start of buf (tag, length, contents), or 0
 * when buf does not start with a complete definite-length SEQUENCE. Real TPMs
 * pad EK certificate indices, so the NV size is not the certificate size.
 */
static size_t der_seq_len(const uint8_t *buf, size_t len)
{
        size_t hdr, body = 0, i, n;

        if (len < 2 || buf[0] != 0x30)
                return 0;
        if (buf[1] < 0x80) {
                hdr = 2;
                body = buf[1];
        } else {
                n = buf[1] & 0x7fu;
                if (n == 0 || n > 3 || len < 2 + n)
                        return 0;
                for (i = 0; i < n; i++)
                        body = body << 8 | buf[2 + i];
                hdr = 2 + n;
        }
        if (body > len - hdr)
                return 0;
        return hdr + body;
}

/* Reads an NV index holding a DER object. KL_ERR_NOT_FOUND if not defined. */
static int nv_read_der(struct kl_tpm *t, TPM2_HANDLE index, uint8_t **ret_der, size_t *ret_len)
{
        TPM2B_NV_PUBLIC *nvpub = NULL;
        TPM2B_NAME *nvname = NULL;
        TPM2B_MAX_NV_BUFFER *data = NULL;
        ESYS_TR nv = ESYS_TR_NONE, auth;
        uint8_t *buf = NULL;
        size_t size = 0, off = 0, der_len;
        UINT32 chunk;
        TSS2_RC rc;
        int r = KL_ERR_TPM;

        rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
        if (rc != TSS2_RC_SUCCESS) {
                nv = ESYS_TR_NONE;
                if (tpm_rc_base(rc) == TPM2_RC_HANDLE) {
                        log_debug("NV index 0x%08x is not defined", index);
                        r = KL_ERR_NOT_FOUND;
                } else {
                        log_error("Esys_TR_FromTPMPublic(0x%08x): 0x%08x %s", index, rc,
                                  Tss2_RC_Decode(rc));
                        r = tpm_err(rc);
                }
                goto out;
        }
        rc = Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nvpub,
                                &nvname);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss_fail("Esys_NV_ReadPublic", rc);
                goto out;
        }
        size = nvpub->nvPublic.dataSize;
        if (size == 0 || size > NV_CERT_MAX) {
                log_error("NV index 0x%08x has an implausible size %zu", index, size);
                r = KL_ERR_INVAL;
                goto out;
        }
        if ((buf = malloc(size)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        /* Owner auth (empty on a fresh TPM) as Keylime reads it; the index's own
         * (empty) auth when the owner has a password and the index allows it. */
        auth = ESYS_TR_RH_OWNER;
        if (!(nvpub->nvPublic.attributes & TPMA_NV_OWNERREAD) &&
            (nvpub->nvPublic.attributes & TPMA_NV_AUTHREAD))
                auth = nv;
        chunk = nv_buffer_max(t);
        while (off < size) {
                UINT16 want = (UINT16)(size - off < chunk ? size - off : chunk);

                rc = Esys_NV_Read(t->esys, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                  want, (UINT16)off, &data);
                if (rc != TSS2_RC_SUCCESS && auth == ESYS_TR_RH_OWNER &&
                    tpm_err(rc) == KL_ERR_TPM_AUTH &&
                    (nvpub->nvPublic.attributes & TPMA_NV_AUTHREAD)) {
                        log_debug("owner read of NV 0x%08x refused, trying the index auth", index);
                        auth = nv;
                        continue;
                }
                if (rc != TSS2_RC_SUCCESS) {
                        r = tss_fail("Esys_NV_Read", rc);
                        goto out;
                }
                if (data->size == 0 || data->size > want) {
                        log_error("Esys_NV_Read returned %u bytes for %u", data->size, want);
                        r = KL_ERR_TPM;
                        goto out;
                }
                memcpy(buf + off, data->buffer, data->size);
                off += data->size;
                Esys_Free(data);
                data = NULL;
        }
        if ((der_len = der_seq_len(buf, size)) == 0) {
                log_debug("NV index 0x%08x does not hold a DER object", index);
                r = KL_ERR_INVAL;
                goto out;
        }
        *ret_der = buf;
        *ret_len = der_len;
        buf = NULL;
        r = 0;
out:
        if (nv != ESYS_TR_NONE)
                (void)Esys_TR_Close(t->esys, &nv);
        Esys_Free(data);
        Esys_Free(nvpub);
        Esys_Free(nvname);
        free(buf);
        return r;
}

int kl_tpm_ek_cert(struct kl_tpm *t, uint8_t **ret_der, size_t *ret_len)
{
        TPMI_ALG_PUBLIC alg = t->ek != ESYS_TR_NONE ? t->ek_pub.publicArea.type : t->key_alg;

        return nv_read_der(t, alg == TPM2_ALG_RSA ? NV_EK_CERT_RSA2048 : NV_EK_CERT_P256, ret_der,
                           ret_len);
}

int kl_tpm_nv_read_der(struct kl_tpm *t, uint32_t index, uint8_t **ret_der, size_t *ret_len)
{
        return nv_read_der(t, index, ret_der, ret_len);
}

void kl_tpm_der_list_free(uint8_t **ders, size_t *lens, size_t n)
{
        size_t i;

        if (ders != NULL) {
                for (i = 0; i < n; i++)
                        free(ders[i]);
        }
        free(ders);
        free(lens);
}

int kl_tpm_ek_chain(struct kl_tpm *t, uint8_t ***ret_ders, size_t **ret_lens, size_t *ret_n)
{
        TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more = TPM2_YES;
        TPM2_HANDLE next = NV_EK_CHAIN_FIRST;
        uint8_t **ders = NULL;
        size_t *lens = NULL, n = 0, i;
        TSS2_RC rc;
        int r = KL_ERR_NOMEM;

        /* at most 256 indices in the range: allocate for all of them once */
        ders = calloc(NV_EK_CHAIN_LAST - NV_EK_CHAIN_FIRST + 1, sizeof(*ders));
        lens = calloc(NV_EK_CHAIN_LAST - NV_EK_CHAIN_FIRST + 1, sizeof(*lens));
        if (ders == NULL || lens == NULL)
                goto out;
        while (more == TPM2_YES && next <= NV_EK_CHAIN_LAST) {
                rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                        TPM2_CAP_HANDLES, next, NV_EK_CHAIN_LAST - next + 1, &more,
                                        &cap);
                if (rc != TSS2_RC_SUCCESS) {
                        r = tss_fail("Esys_GetCapability(HANDLES)", rc);
                        goto out;
                }
                if (cap->data.handles.count == 0)
                        break;
                for (i = 0; i < cap->data.handles.count; i++) {
                        TPM2_HANDLE h = cap->data.handles.handle[i];

                        if (h < next || h > NV_EK_CHAIN_LAST) {
                                more = TPM2_NO;
                                break;
                        }
                        next = h + 1;
                        r = nv_read_der(t, h, &ders[n], &lens[n]);
                        if (r == KL_ERR_INVAL || r == KL_ERR_NOT_FOUND) {
                                log_warn("NV index 0x%08x holds no certificate, ignoring", h);
                                continue;
                        }
                        if (r < 0)
                                goto out;
                        n++;
                }
                Esys_Free(cap);
                cap = NULL;
        }
        *ret_ders = ders;
        *ret_lens = lens;
        *ret_n = n;
        ders = NULL;
        lens = NULL;
        r = 0;
out:
        Esys_Free(cap);
        kl_tpm_der_list_free(ders, lens, n);
        return r;
}

/* ---- sessions and the AK ---------------------------------------------- */

/*
 * A policy session satisfying the EK's authPolicy, PolicySecret(endorsement).
 * Every use of the EK needs a fresh one; the caller flushes it on every path.
 */
static int ek_session(struct kl_tpm *t, ESYS_TR *ret)
{
        TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
        TPM2B_NONCE nonce = {0};
        TPM2B_DIGEST cphash = {0};
        TPM2B_NONCE ref = {0};
        TPM2B_TIMEOUT *timeout = NULL;
        TPMT_TK_AUTH *ticket = NULL;
        ESYS_TR s = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &s);
        if (rc != TSS2_RC_SUCCESS) {
                s = ESYS_TR_NONE;
                r = tss_fail("Esys_StartAuthSession", rc);
                goto out;
        }
        /* continueSession, so that the session survives its use and the flush
         * below is always the one that ends it */
        rc = Esys_TRSess_SetAttributes(t->esys, s, TPMA_SESSION_CONTINUESESSION, 0xff);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss_fail("Esys_TRSess_SetAttributes", rc);
                goto out;
        }
        rc = Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, s, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &nonce, &cphash, &ref, 0, &timeout, &ticket);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss_fail("Esys_PolicySecret", rc);
                goto out;
        }
        *ret = s;
        s = ESYS_TR_NONE;
        r = 0;
out:
        flush(t, &s);
        Esys_Free(timeout);
        Esys_Free(ticket);
        return r;
}

static void ak_template(const struct kl_tpm *t, TPM2B_PUBLIC *p)
{
        TPMT_PUBLIC *a = &p->publicArea;

        memset(p, 0, sizeof(*p));
        a->type = t->key_alg;
        a->nameAlg = TPM2_ALG_SHA256;
        a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                              TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                              TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
        if (t->key_alg == TPM2_ALG_RSA) {
                a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
                a->parameters.rsaDetail.scheme.scheme = t->sign_alg;
                a->parameters.rsaDetail.scheme.details.anySig.hashAlg = t->hash_alg;
                a->parameters.rsaDetail.keyBits = 2048;
                a->parameters.rsaDetail.exponent = 0;
        } else {
                a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
                a->parameters.eccDetail.scheme.scheme = t->sign_alg;
                a->parameters.eccDetail.scheme.details.anySig.hashAlg = t->hash_alg;
                a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
                a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        }
}

/* Loads private/public under the EK and makes it the current AK. */
static int ak_load(struct kl_tpm *t, const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub)
{
        ESYS_TR s = ESYS_TR_NONE, h = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        if ((r = ek_session(t, &s)) < 0)
                goto out;
        rc = Esys_Load(t->esys, t->ek, s, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &h);
        if (rc != TSS2_RC_SUCCESS) {
                h = ESYS_TR_NONE;
                r = tss_fail("Esys_Load", rc);
                goto out;
        }
        flush(t, &t->ak);
        t->ak = h;
        t->ak_pub = *pub;
        r = 0;
out:
        flush(t, &s);
        return r;
}

void kl_tpm_ak_blob_clear(struct kl_tpm_ak_blob *b)
{
        if (b == NULL)
                return;
        free(b->pub);
        if (b->priv != NULL)
                explicit_bzero(b->priv, b->priv_len); /* wrapped by the EK, but still key */
        free(b->priv);
        memset(b, 0, sizeof(*b));
}

int kl_tpm_ak_create(struct kl_tpm *t, struct kl_tpm_ak_blob *ret_blob)
{
        TPM2B_SENSITIVE_CREATE sens = {0};
        TPM2B_DATA outside = {0};
        TPML_PCR_SELECTION pcrs = {0};
        TPM2B_PUBLIC tmpl;
        TPM2B_PRIVATE *priv = NULL;
        TPM2B_PUBLIC *pub = NULL;
        TPM2B_CREATION_DATA *cdata = NULL;
        TPM2B_DIGEST *chash = NULL;
        TPMT_TK_CREATION *ticket = NULL;
        struct kl_tpm_ak_blob blob = {0};
        ESYS_TR s = ESYS_TR_NONE;
        size_t off = 0;
        TSS2_RC rc;
        int r;

        if ((r = kl_tpm_ek_load(t)) < 0)
                goto out;
        /* a loaded AK would take the slot Create needs on a 3-slot TPM */
        flush(t, &t->ak);
        ak_template(t, &tmpl);
        if ((r = ek_session(t, &s)) < 0)
                goto out;
        rc = Esys_Create(t->esys, t->ek, s, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside,
                         &pcrs, &priv, &pub, &cdata, &chash, &ticket);
        flush(t, &s);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss_fail("Esys_Create", rc);
                goto out;
        }
        r = KL_ERR_NOMEM;
        if ((blob.pub = malloc(sizeof(TPMT_PUBLIC))) == NULL ||
            (blob.priv = malloc(priv->size == 0 ? 1 : priv->size)) == NULL)
                goto out;
        rc = Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, blob.pub, sizeof(TPMT_PUBLIC), &off);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss_fail("Tss2_MU_TPMT_PUBLIC_Marshal", rc);
                goto out;
        }
        blob.pub_len = off;
        memcpy(blob.priv, priv->buffer, priv->size);
        blob.priv_len = priv->size;
        if ((r = ak_load(t, priv, pub)) < 0)
                goto out;
        *ret_blob = blob;
        memset(&blob, 0, sizeof(blob));
        r = 0;
out:
        flush(t, &s);
        kl_tpm_ak_blob_clear(&blob);
        if (priv != NULL)
                explicit_bzero(priv, sizeof(*priv));
        Esys_Free(priv);
        Esys_Free(pub);
        Esys_Free(cdata);
        Esys_Free(chash);
        Esys_Free(ticket);
        return r;
}

int kl_tpm_ak_load(struct kl_tpm *t, const struct kl_tpm_ak_blob *blob)
{
        TPM2B_PUBLIC pub = {0};
        TPM2B_PRIVATE priv = {0};
        size_t off = 0;
        TSS2_RC rc;
        int r = KL_ERR_INVAL;

        if (blob == NULL || blob->pub == NULL || blob->priv == NULL ||
            blob->priv_len > sizeof(priv.buffer))
                goto out;
        rc = Tss2_MU_TPMT_PUBLIC_Unmarshal(blob->pub, blob->pub_len, &off, &pub.publicArea);
        if (rc != TSS2_RC_SUCCESS || off != blob->pub_len) {
                log_debug("AK public blob does not unmarshal (0x%08x, %zu of %zu bytes)", rc, off,
                          blob->pub_len);
                goto out;
        }
        memcpy(priv.buffer, blob->priv, blob->priv_len);
        priv.size = (UINT16)blob->priv_len;
        if ((r = kl_tpm_ek_load(t)) < 0)
                goto out;
        r = ak_load(t, &priv, &pub);
out:
        explicit_bzero(&priv, sizeof(priv));
        return r;
}

int kl_tpm_ak_public(struct kl_tpm *t, uint8_t **ret_buf, size_t *ret_len)
{
        if (t->ak == ESYS_TR_NONE)
                return KL_ERR_INVAL;
        return marshal_public(&t->ak_pub, ret_buf, ret_len);
}

const char *kl_tpm_hash_alg_rust_name(const struct kl_tpm *t)
{
        /* parse_hash only stores supported algorithms */
        return kl_hash_alg_by_id(t->hash_alg)->rust_name;
}

const char *kl_tpm_sign_alg_rust_name(const struct kl_tpm *t)
{
        switch (t->sign_alg) {
        case TPM2_ALG_RSAPSS:
                return "RsaPss";
        case TPM2_ALG_ECDSA:
                return "EcDsa";
        case TPM2_ALG_ECSCHNORR:
                return "EcSchnorr";
        default:
                return "RsaSsa";
        }
}

/* ---- credential activation (registrar challenge) ----------------------- */

int kl_tpm_activate_credential(struct kl_tpm *t, const uint8_t *blob, size_t blob_len,
                               uint8_t **ret_secret, size_t *ret_len)
{
        TPM2B_ID_OBJECT id = {0};
        TPM2B_ENCRYPTED_SECRET secret = {0};
        TPM2B_DIGEST *cert_info = NULL;
        const uint8_t *id_p = NULL, *sec_p = NULL;
        size_t id_len = 0, sec_len = 0;
        uint8_t *out = NULL;
        ESYS_TR s = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        /* Everything about the blob is checked before the TPM sees it. */
        r = kl_credblob_split(blob, blob_len, &id_p, &id_len, &sec_p, &sec_len);
        if (r < 0)
                goto out;
        r = KL_ERR_INVAL;
        if (id_len == 0 || id_len > sizeof(id.credential) || sec_len == 0 ||
            sec_len > sizeof(secret.secret))
                goto out;
        memcpy(id.credential, id_p, id_len);
        id.size = (UINT16)id_len;
        memcpy(secret.secret, sec_p, sec_len);
        secret.size = (UINT16)sec_len;
        if (t->ak == ESYS_TR_NONE)
                goto out;
        if ((r = kl_tpm_ek_load(t)) < 0 || (r = ek_session(t, &s)) < 0)
                goto out;
        rc = Esys_ActivateCredential(t->esys, t->ak, t->ek, ESYS_TR_PASSWORD, s, ESYS_TR_NONE, &id,
                                     &secret, &cert_info);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss_fail("Esys_ActivateCredential", rc);
                goto out;
        }
        if ((out = malloc(cert_info->size == 0 ? 1 : cert_info->size)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        memcpy(out, cert_info->buffer, cert_info->size);
        *ret_secret = out;
        *ret_len = cert_info->size;
        out = NULL;
        r = 0;
out:
        flush(t, &s);
        if (cert_info != NULL)
                explicit_bzero(cert_info, sizeof(*cert_info));
        Esys_Free(cert_info);
        return r;
}

/* ---- PCR banks (for the agent's --check) ------------------------------- */

int kl_tpm_pcr_banks(struct kl_tpm *tpm, char *out, size_t len)
{
        TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more = TPM2_NO;
        size_t used = 0;
        TSS2_RC rc;
        int r = KL_ERR_INVAL;

        if (tpm == NULL || out == NULL || len == 0)
                goto out;
        out[0] = '\0';
        rc = Esys_GetCapability(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS,
                                0, 1, &more, &cap);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss_fail("Esys_GetCapability(PCRS)", rc);
                goto out;
        }
        r = 0;
        for (UINT32 i = 0; i < cap->data.assignedPCR.count && i < TPM2_NUM_PCR_BANKS; i++) {
                const TPMS_PCR_SELECTION *sel = &cap->data.assignedPCR.pcrSelections[i];
                const struct kl_hash_alg *h = kl_hash_alg_by_id(sel->hash); /* sm3_256 too */
                bool allocated = false;
                int n;

                /* a bank the TPM implements but has no PCR allocated to is not usable */
                for (UINT8 b = 0; b < sel->sizeofSelect && b < TPM2_PCR_SELECT_MAX; b++)
                        allocated = allocated || sel->pcrSelect[b] != 0;
                if (!allocated)
                        continue;
                if (h != NULL)
                        n = snprintf(out + used, len - used, "%s%s", used ? "," : "", h->name);
                else
                        n = snprintf(out + used, len - used, "%s0x%04x", used ? "," : "",
                                     (unsigned)sel->hash);
                if (n < 0 || (size_t)n >= len - used) {
                        r = KL_ERR_TOO_LONG;
                        goto out;
                }
                used += (size_t)n;
        }
out:
        Esys_Free(cap);
        return r;
}

/* ---- PCRs and quotes (Keylime quote-format.md section 4) -------------- */

/* PCR_Read and Quote disagree when a PCR is extended in between: try again. */
#define QUOTE_ATTEMPTS 5

/* One bank, PCRs 0..23 of mask. */
static void pcr_selection(TPMI_ALG_HASH alg, uint32_t mask, TPML_PCR_SELECTION *sel)
{
        memset(sel, 0, sizeof(*sel));
        sel->count = 1;
        sel->pcrSelections[0].hash = alg;
        sel->pcrSelections[0].sizeofSelect = 3;
        sel->pcrSelections[0].pcrSelect[0] = (BYTE)mask;
        sel->pcrSelections[0].pcrSelect[1] = (BYTE)(mask >> 8);
        sel->pcrSelections[0].pcrSelect[2] = (BYTE)(mask >> 16);
}

int kl_tpm_pcr_reset_extend(struct kl_tpm *t, unsigned pcr, const uint8_t *digest, size_t len)
{
        TPML_DIGEST_VALUES v;
        TSS2_RC rc;

        if (t == NULL || digest == NULL || pcr >= KL_PCR_COUNT ||
            len != kl_hash_alg_digest_len(t->hash_alg))
                return KL_ERR_INVAL;
        rc = Esys_PCR_Reset(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE);
        if (rc != TSS2_RC_SUCCESS)
                return tss_fail("Esys_PCR_Reset", rc);
        memset(&v, 0, sizeof(v));
        v.count = 1;
        v.digests[0].hashAlg = t->hash_alg;
        memcpy(v.digests[0].digest.sha512, digest, len); /* the union's largest member */
        rc = Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                             ESYS_TR_NONE, &v);
        if (rc != TSS2_RC_SUCCESS)
                return tss_fail("Esys_PCR_Extend", rc);
        return 0;
}

int kl_tpm_pcr_read(struct kl_tpm *t, uint16_t hash_alg, uint32_t mask, struct kl_pcr_set *ret)
{
        struct kl_pcr_set p;
        TPML_PCR_SELECTION sel;
        TPML_PCR_SELECTION *out_sel = NULL;
        TPML_DIGEST *vals = NULL;
        UINT32 counter = 0;
        uint32_t left = mask;
        TSS2_RC rc;
        int r = KL_ERR_INVAL;

        memset(&p, 0, sizeof(p));
        if (t == NULL || ret == NULL || (mask >> KL_PCR_COUNT) != 0 ||
            (p.digest_len = kl_hash_alg_digest_len(hash_alg)) == 0)
                goto out;
        p.hash_alg = hash_alg;
        p.mask = mask;
        /* a TPM returns at most 8 digests per PCR_Read: ask again for the rest */
        while (left != 0) {
                const TPMS_PCR_SELECTION *s;
                uint32_t got = 0;
                unsigned i, k = 0;

                pcr_selection(hash_alg, left, &sel);
                rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel,
                                   &counter, &out_sel, &vals);
                if (rc != TSS2_RC_SUCCESS) {
                        r = tss_fail("Esys_PCR_Read", rc);
                        goto out;
                }
                s = &out_sel->pcrSelections[0];
                if (out_sel->count >= 1 && s->hash == hash_alg) {
                        for (i = 0; i < s->sizeofSelect && i < TPM2_PCR_SELECT_MAX; i++)
                                got |= (uint32_t)s->pcrSelect[i] << (8 * i);
                }
                /* nothing read (bank not allocated) or more than asked: do not loop forever */
                if (got == 0 || (got & ~left) != 0 ||
                    (unsigned)__builtin_popcount(got) != vals->count) {
                        log_error("PCR_Read of bank 0x%04x mask 0x%06x returned mask 0x%06x "
                                  "with %u digests",
                                  hash_alg, left, got, vals->count);
                        r = KL_ERR_TPM;
                        goto out;
                }
                for (i = 0; i < KL_PCR_COUNT; i++) {
                        if (!(got & (1u << i)))
                                continue;
                        if (vals->digests[k].size != p.digest_len) {
                                log_error("PCR_Read returned a %u-byte digest for PCR %u",
                                          vals->digests[k].size, i);
                                r = KL_ERR_TPM;
                                goto out;
                        }
                        memcpy(p.values[i], vals->digests[k].buffer, p.digest_len);
                        k++;
                }
                left &= ~got;
                Esys_Free(out_sel);
                Esys_Free(vals);
                out_sel = NULL;
                vals = NULL;
        }
        *ret = p;
        r = 0;
out:
        Esys_Free(out_sel);
        Esys_Free(vals);
        return r;
}

/* The TPMS_ATTEST bytes and marshalled TPMT_SIGNATURE of a signed attestation (caller frees). */
static int attest_out(const TPM2B_ATTEST *attest, const TPMT_SIGNATURE *signature,
                      uint8_t **ret_attest, size_t *ret_attest_len, uint8_t **ret_sig,
                      size_t *ret_sig_len)
{
        uint8_t *a = malloc(attest->size > 0 ? attest->size : 1);
        uint8_t *sig = malloc(sizeof(TPMT_SIGNATURE));
        size_t sig_len = 0;
        TSS2_RC rc;

        if (a == NULL || sig == NULL) {
                free(a);
                free(sig);
                return KL_ERR_NOMEM;
        }
        memcpy(a, attest->attestationData, attest->size);
        rc = Tss2_MU_TPMT_SIGNATURE_Marshal(signature, sig, sizeof(TPMT_SIGNATURE), &sig_len);
        if (rc != TSS2_RC_SUCCESS) {
                free(a);
                free(sig);
                return tss_fail("Tss2_MU_TPMT_SIGNATURE_Marshal", rc);
        }
        *ret_attest = a;
        *ret_attest_len = attest->size;
        *ret_sig = sig;
        *ret_sig_len = sig_len;
        return 0;
}

int kl_tpm_quote(struct kl_tpm *t, const uint8_t *nonce, size_t nonce_len, uint32_t mask,
                 uint8_t **ret_attest, size_t *ret_attest_len, uint8_t **ret_sig,
                 size_t *ret_sig_len, struct kl_pcr_set *ret_pcrs)
{
        struct kl_pcr_set pcrs;
        struct kl_attest_info info;
        TPM2B_DATA qual = {0};
        TPMT_SIG_SCHEME scheme = {0};
        TPML_PCR_SELECTION sel;
        TPM2B_ATTEST *quoted = NULL;
        TPMT_SIGNATURE *signature = NULL;
        uint8_t digest[64];
        size_t digest_len = 0;
        int attempt, r = KL_ERR_INVAL;
        TSS2_RC rc;

        if (t == NULL || (nonce == NULL && nonce_len > 0) || nonce_len > 64 ||
            nonce_len > sizeof(qual.buffer) || mask == 0 || (mask >> KL_PCR_COUNT) != 0 ||
            ret_attest == NULL || ret_attest_len == NULL || ret_sig == NULL ||
            ret_sig_len == NULL || ret_pcrs == NULL || t->ak == ESYS_TR_NONE)
                goto out;
        if (nonce_len > 0)
                memcpy(qual.buffer, nonce, nonce_len);
        qual.size = (UINT16)nonce_len;
        scheme.scheme = t->sign_alg;
        scheme.details.any.hashAlg = t->hash_alg;
        pcr_selection(t->hash_alg, mask, &sel);
        for (attempt = 0; attempt < QUOTE_ATTEMPTS; attempt++) {
                Esys_Free(quoted);
                Esys_Free(signature);
                quoted = NULL;
                signature = NULL;
                if ((r = kl_tpm_pcr_read(t, t->hash_alg, mask, &pcrs)) < 0)
                        goto out;
                rc = Esys_Quote(t->esys, t->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qual,
                                &scheme, &sel, &quoted, &signature);
                if (rc != TSS2_RC_SUCCESS && tpm_rc_base(rc) == TPM2_RC_SIZE) {
                        /* qualifyingData is bounded by the TPM's largest digest + 2 */
                        log_debug("Esys_Quote: %zu-byte nonce too long for this TPM (%s)",
                                  nonce_len, Tss2_RC_Decode(rc));
                        r = KL_ERR_INVAL;
                        goto out;
                }
                if (rc != TSS2_RC_SUCCESS) {
                        r = tss_fail("Esys_Quote", rc);
                        goto out;
                }
                /* check what the TPM signed before handing it on */
                if (kl_attest_parse(quoted->attestationData, quoted->size, &info) < 0 ||
                    info.sel_hash != t->hash_alg || info.sel_mask != mask ||
                    info.nonce_len != nonce_len ||
                    (nonce_len > 0 && memcmp(info.nonce, nonce, nonce_len) != 0)) {
                        log_error("TPM2_Quote returned an attestation for other data");
                        r = KL_ERR_TPM;
                        goto out;
                }
                if ((r = kl_pcr_set_digest(&pcrs, digest, &digest_len)) < 0)
                        goto out;
                if (digest_len == info.pcr_digest_len &&
                    memcmp(digest, info.pcr_digest, digest_len) == 0)
                        break;
                log_debug("PCRs changed between PCR_Read and Quote (attempt %d)", attempt + 1);
        }
        if (attempt == QUOTE_ATTEMPTS) {
                log_error("PCRs kept changing during %d quote attempts", QUOTE_ATTEMPTS);
                r = KL_ERR_TPM_RETRY;
                goto out;
        }
        if ((r = attest_out(quoted, signature, ret_attest, ret_attest_len, ret_sig, ret_sig_len)) <
            0)
                goto out;
        *ret_pcrs = pcrs;
out:
        Esys_Free(quoted);
        Esys_Free(signature);
        return r;
}

int kl_tpm_certify_ak(struct kl_tpm *t, const uint8_t *qual_data, size_t qual_len,
                      uint8_t **ret_attest, size_t *ret_attest_len, uint8_t **ret_sig,
                      size_t *ret_sig_len)
{
        TPM2B_DATA qual = {0};
        TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
        TPM2B_ATTEST *certified = NULL;
        TPMT_SIGNATURE *signature = NULL;
        int r = KL_ERR_INVAL;
        TSS2_RC rc;

        if (t == NULL || qual_data == NULL || qual_len == 0 || qual_len > sizeof(qual.buffer) ||
            t->ak == ESYS_TR_NONE)
                goto out;
        memcpy(qual.buffer, qual_data, qual_len);
        qual.size = (UINT16)qual_len;
        /* inScheme NULL: the AK's own scheme, which the verifier negotiated from our config */
        rc = Esys_Certify(t->esys, t->ak, t->ak, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                          &qual, &scheme, &certified, &signature);
        if (rc != TSS2_RC_SUCCESS && tpm_rc_base(rc) == TPM2_RC_SIZE) {
                log_debug("Esys_Certify: %zu-byte challenge too long for this TPM (%s)", qual_len,
                          Tss2_RC_Decode(rc));
                goto out;
        }
        if (rc != TSS2_RC_SUCCESS) {
                r = tss_fail("Esys_Certify", rc);
                goto out;
        }
        r = attest_out(certified, signature, ret_attest, ret_attest_len, ret_sig, ret_sig_len);
out:
        Esys_Free(certified);
        Esys_Free(signature);
        return r;
}

const char *kl_tpm_hash_alg_name(const struct kl_tpm *t)
{
        return kl_hash_alg_name(t->hash_alg); /* parse_hash only stores supported ones */
}

const char *kl_tpm_enc_alg_name(const struct kl_tpm *t, bool sized_names)
{
        /* only RSA-2048 and P-256 keys are made (parse_enc refuses the others) */
        if (t->key_alg == TPM2_ALG_ECC)
                return sized_names ? "ecc256" : "ecc";
        return sized_names ? "rsa2048" : "rsa";
}

const char *kl_tpm_sign_alg_name(const struct kl_tpm *t)
{
        switch (t->sign_alg) {
        case TPM2_ALG_RSAPSS:
                return "rsapss";
        case TPM2_ALG_ECDSA:
                return "ecdsa";
        case TPM2_ALG_ECSCHNORR:
                return "ecschnorr";
        default:
                return "rsassa";
        }
}

uint32_t kl_tpm_ak_handle(const struct kl_tpm *t)
{
        return t->ak;
}
