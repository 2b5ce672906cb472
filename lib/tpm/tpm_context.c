/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's TPM, part 1: options, the TCTI and ESAPI context (with an
 * operator-readable reason when the TPM cannot be reached), TSS error
 * translation, and what the configured algorithms are called on the wire.
 * The other parts: tpm_ek.c (EK and its NV certificates), tpm_ak.c (AK and
 * credential activation), tpm_pcr.c (PCRs, quotes, AK certification). Only
 * these files include tss2_esys.h. They flush every transient object and
 * session they create on every path, because swtpm and /dev/tpm0 without a
 * resource manager keep them after we exit and offer only three object slots.
 *
 * References: TCG EK Credential Profile 2.5, TPM 2.0 Part 2 (response codes).
 */
#include "tpm_internal.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "err.h"
#include "hash_alg.h"
#include "hex.h"
#include "log.h"

/* TPM2_PERSISTENT_FIRST/LAST shift a signed 0x81 by 24 bits (UB): spell them out. */
#define PERSISTENT_FIRST 0x81000000u
#define PERSISTENT_LAST  0x81ffffffu

/* ---- error translation ------------------------------------------------- */

/* The TPM's own response code without layer, handle/parameter/session bits. */
TSS2_RC kl_tpm_rc_base(TSS2_RC rc)
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
int kl_tpm_err(TSS2_RC rc)
{
        /* a broken TCTI exchange (TPM restarted, socket closed) leaves ESAPI out of step */
        if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER || rc == TSS2_ESYS_RC_BAD_SEQUENCE)
                return KL_ERR_TPM_LOST;
        switch (kl_tpm_rc_base(rc)) {
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

int kl_tpm_fail(const char *fn, TSS2_RC rc)
{
        log_error("%s: 0x%08x %s", fn, rc, Tss2_RC_Decode(rc));
        return kl_tpm_err(rc);
}

void kl_tpm_flush(struct kl_tpm *t, ESYS_TR *h)
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

/*
 * Flushes every handle the TPM lists from first on: transient objects, or
 * loaded sessions (HMAC and policy alike). Returns how many.
 */
static unsigned flush_all_of(struct kl_tpm *t, TPM2_HANDLE first)
{
        TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more = TPM2_NO;
        unsigned n = 0;
        TSS2_RC rc;

        rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                                first, TPM2_MAX_CAP_HANDLES, &more, &cap);
        if (rc != TSS2_RC_SUCCESS) {
                log_debug("Esys_GetCapability(HANDLES 0x%08x): 0x%08x %s", first, rc,
                          Tss2_RC_Decode(rc));
                return 0;
        }
        for (UINT32 i = 0; i < cap->data.handles.count; i++) {
                ESYS_TR h = ESYS_TR_NONE;

                if (Esys_TR_FromTPMPublic(t->esys, cap->data.handles.handle[i], ESYS_TR_NONE,
                                          ESYS_TR_NONE, ESYS_TR_NONE, &h) != TSS2_RC_SUCCESS)
                        continue;
                if (Esys_FlushContext(t->esys, h) == TSS2_RC_SUCCESS)
                        n++;
                else
                        (void)Esys_TR_Close(t->esys, &h);
        }
        Esys_Free(cap);
        return n;
}

/*
 * Without a resource manager (swtpm, mssim, /dev/tpm0) the objects and
 * sessions of a process that was killed stay loaded, and after three of
 * each every TPM2_Create/Load or StartAuthSession fails (TPM_RC_OBJECT_MEMORY,
 * TPM_RC_SESSION_MEMORY). The agent is such a TPM's one owner, so whatever
 * is loaded when it opens the TPM is a dead process's: flush it. Behind
 * /dev/tpmrm0 or tabrmd each client only sees its own.
 */
static void flush_leftovers(struct kl_tpm *t)
{
        unsigned objects, sessions;

        if (strncmp(t->tcti, "device:/dev/tpmrm", 17) == 0 || strncmp(t->tcti, "tabrmd", 6) == 0)
                return;
        /* tss2's TPM2_TRANSIENT_FIRST shifts an int 0x80 by 24 (undefined behaviour) */
        objects = flush_all_of(t, (TPM2_HANDLE)TPM2_HT_TRANSIENT << TPM2_HR_SHIFT);
        sessions =
            flush_all_of(t, TPM2_LOADED_SESSION_FIRST) + flush_all_of(t, TPM2_POLICY_SESSION_FIRST);
        if (objects + sessions > 0)
                log_warn("flushed %u transient object(s) and %u session(s) a stopped process left "
                         "in the TPM",
                         objects, sessions);
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
        if (rc != TSS2_RC_SUCCESS && kl_tpm_rc_base(rc) != TPM2_RC_INITIALIZE) {
                log_debug("Esys_Startup: 0x%08x %s", rc, Tss2_RC_Decode(rc));
                kl_why_set(why, why_len, "TPM via '%s' does not answer TPM2_Startup: %s", t->tcti,
                           Tss2_RC_Decode(rc));
                r = KL_ERR_TPM_OPEN;
                goto out;
        }
        rc = Esys_TR_SetAuth(t->esys, ESYS_TR_RH_ENDORSEMENT, &t->endorsement_auth);
        if (rc != TSS2_RC_SUCCESS) {
                r = kl_tpm_fail("Esys_TR_SetAuth", rc);
                kl_why_set(why, why_len, "cannot set the endorsement authorisation");
                r = KL_ERR_TPM_OPEN;
                goto out;
        }
        if (opts->flush_leftovers)
                flush_leftovers(t);
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
                kl_tpm_flush(t, &t->ak);
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

int kl_tpm_marshal_public(const TPM2B_PUBLIC *pub, uint8_t **ret_buf, size_t *ret_len)
{
        uint8_t *buf = NULL;
        size_t off = 0;
        TSS2_RC rc;
        int r = KL_ERR_NOMEM;

        if ((buf = malloc(sizeof(TPM2B_PUBLIC))) == NULL)
                goto out;
        rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(TPM2B_PUBLIC), &off);
        if (rc != TSS2_RC_SUCCESS) {
                r = kl_tpm_fail("Tss2_MU_TPM2B_PUBLIC_Marshal", rc);
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

int kl_tpm_marshal_private(const TPM2B_PRIVATE *priv, uint8_t **ret_buf, size_t *ret_len)
{
        uint8_t *buf = malloc(sizeof(TPM2B_PRIVATE));
        size_t off = 0;
        TSS2_RC rc;

        if (buf == NULL)
                return KL_ERR_NOMEM;
        rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(TPM2B_PRIVATE), &off);
        if (rc != TSS2_RC_SUCCESS) {
                free(buf);
                return kl_tpm_fail("Tss2_MU_TPM2B_PRIVATE_Marshal", rc);
        }
        *ret_buf = buf;
        *ret_len = off;
        return 0;
}

/* ---- names of the configured algorithms -------------------------------- */

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
