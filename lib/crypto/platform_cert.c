/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCG Platform Certificates (see platform_cert.h) on OpenSSL's ASN.1 template
 * machinery: the RFC 5755 structures are declared once below and drive both
 * ASN1_item_d2i (parse) and ASN1_item_i2d / ASN1_item_sign (build), so the
 * encoder and the decoder cannot disagree. Only the subset a platform
 * certificate uses is interpreted; everything else in the structure must still
 * be well-formed DER.
 *
 * One file although long: the templates, their parser, their builder and the
 * checks against the EK certificate share the static ASN.1 item definitions,
 * which OpenSSL's macros make file-local.
 *
 * References: RFC 5755 section 4.1 (module PKIXAttributeCertificate-2008,
 * IMPLICIT TAGS); TCG Platform Certificate Profile 1.1, sections 3.1-3.2.
 */
#include "platform_cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "err.h"
#include "hex.h"

/* TCG attribute OIDs (tcg-common 2.23.133.5.1) of the subjectAltName directoryName. */
#define OID_PLATFORM_MANUFACTURER "2.23.133.5.1.1"
#define OID_PLATFORM_MODEL        "2.23.133.5.1.4"
#define OID_PLATFORM_VERSION      "2.23.133.5.1.5"
#define OID_PLATFORM_SERIAL       "2.23.133.5.1.6"
/* tcg-at-tcgCredentialType (2.23.133.2.25), whose value names the certificate kind. */
#define OID_TCG_CREDENTIAL_TYPE "2.23.133.2.25"
/* AttCertVersion v2 */
#define AC_VERSION_2 1
/* RFC 5280 serial numbers: at most 20 octets */
#define SERIAL_MAX 20

/* TCGCredentialType ::= SEQUENCE { certificateType tcg-kp-PlatformAttributeCertificate
 * (2.23.133.8.2) }, DER. */
static const unsigned char credential_type_platform[] = {0x30, 0x07, 0x06, 0x05, 0x67,
                                                         0x81, 0x05, 0x08, 0x02};

/* ---- RFC 5755 structures ------------------------------------------------ */

/* The template macros read best in OpenSSL's own layout. */
/* clang-format off */

/* IssuerSerial ::= SEQUENCE { issuer GeneralNames, serial CertificateSerialNumber,
 *                             issuerUID UniqueIdentifier OPTIONAL } */
typedef struct {
        STACK_OF(GENERAL_NAME) *issuer;
        ASN1_INTEGER *serial;
        ASN1_BIT_STRING *issuer_uid;
} KL_AC_ISSUER_SERIAL;

ASN1_SEQUENCE(KL_AC_ISSUER_SERIAL) = {
        ASN1_SEQUENCE_OF(KL_AC_ISSUER_SERIAL, issuer, GENERAL_NAME),
        ASN1_SIMPLE(KL_AC_ISSUER_SERIAL, serial, ASN1_INTEGER),
        ASN1_OPT(KL_AC_ISSUER_SERIAL, issuer_uid, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(KL_AC_ISSUER_SERIAL)

/* ObjectDigestInfo ::= SEQUENCE { digestedObjectType ENUMERATED, otherObjectTypeID
 *   OBJECT IDENTIFIER OPTIONAL, digestAlgorithm AlgorithmIdentifier, objectDigest BIT STRING } */
typedef struct {
        ASN1_ENUMERATED *type;
        ASN1_OBJECT *other_type;
        X509_ALGOR *alg;
        ASN1_BIT_STRING *digest;
} KL_AC_OBJECT_DIGEST;

ASN1_SEQUENCE(KL_AC_OBJECT_DIGEST) = {
        ASN1_SIMPLE(KL_AC_OBJECT_DIGEST, type, ASN1_ENUMERATED),
        ASN1_OPT(KL_AC_OBJECT_DIGEST, other_type, ASN1_OBJECT),
        ASN1_SIMPLE(KL_AC_OBJECT_DIGEST, alg, X509_ALGOR),
        ASN1_SIMPLE(KL_AC_OBJECT_DIGEST, digest, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(KL_AC_OBJECT_DIGEST)

/* Holder ::= SEQUENCE { baseCertificateID [0] IssuerSerial OPTIONAL,
 *   entityName [1] GeneralNames OPTIONAL, objectDigestInfo [2] ObjectDigestInfo OPTIONAL } */
typedef struct {
        KL_AC_ISSUER_SERIAL *base_cert_id;
        STACK_OF(GENERAL_NAME) *entity_name;
        KL_AC_OBJECT_DIGEST *object_digest;
} KL_AC_HOLDER;

ASN1_SEQUENCE(KL_AC_HOLDER) = {
        ASN1_IMP_OPT(KL_AC_HOLDER, base_cert_id, KL_AC_ISSUER_SERIAL, 0),
        ASN1_IMP_SEQUENCE_OF_OPT(KL_AC_HOLDER, entity_name, GENERAL_NAME, 1),
        ASN1_IMP_OPT(KL_AC_HOLDER, object_digest, KL_AC_OBJECT_DIGEST, 2),
} static_ASN1_SEQUENCE_END(KL_AC_HOLDER)

/* V2Form ::= SEQUENCE { issuerName GeneralNames OPTIONAL, baseCertificateID [0]
 *   IssuerSerial OPTIONAL, objectDigestInfo [1] ObjectDigestInfo OPTIONAL }.
 * AttCertIssuer's v1Form "MUST NOT be used" (RFC 5755 4.2.3): only [0] v2Form parses. */
typedef struct {
        STACK_OF(GENERAL_NAME) *issuer_name;
        KL_AC_ISSUER_SERIAL *base_cert_id;
        KL_AC_OBJECT_DIGEST *object_digest;
} KL_AC_V2FORM;

ASN1_SEQUENCE(KL_AC_V2FORM) = {
        ASN1_SEQUENCE_OF_OPT(KL_AC_V2FORM, issuer_name, GENERAL_NAME),
        ASN1_IMP_OPT(KL_AC_V2FORM, base_cert_id, KL_AC_ISSUER_SERIAL, 0),
        ASN1_IMP_OPT(KL_AC_V2FORM, object_digest, KL_AC_OBJECT_DIGEST, 1),
} static_ASN1_SEQUENCE_END(KL_AC_V2FORM)

/* AttCertValidityPeriod ::= SEQUENCE { notBeforeTime, notAfterTime GeneralizedTime } */
typedef struct {
        ASN1_GENERALIZEDTIME *not_before;
        ASN1_GENERALIZEDTIME *not_after;
} KL_AC_VALIDITY;

ASN1_SEQUENCE(KL_AC_VALIDITY) = {
        ASN1_SIMPLE(KL_AC_VALIDITY, not_before, ASN1_GENERALIZEDTIME),
        ASN1_SIMPLE(KL_AC_VALIDITY, not_after, ASN1_GENERALIZEDTIME),
} static_ASN1_SEQUENCE_END(KL_AC_VALIDITY)

/* AttributeCertificateInfo ::= SEQUENCE { version, holder, issuer, signature,
 *   serialNumber, attrCertValidityPeriod, attributes SEQUENCE OF Attribute,
 *   issuerUniqueID OPTIONAL, extensions OPTIONAL } */
typedef struct {
        ASN1_INTEGER *version;
        KL_AC_HOLDER *holder;
        KL_AC_V2FORM *issuer;
        X509_ALGOR *signature;
        ASN1_INTEGER *serial;
        KL_AC_VALIDITY *validity;
        STACK_OF(X509_ATTRIBUTE) *attributes;
        ASN1_BIT_STRING *issuer_uid;
        STACK_OF(X509_EXTENSION) *extensions;
} KL_AC_INFO;

ASN1_SEQUENCE(KL_AC_INFO) = {
        ASN1_SIMPLE(KL_AC_INFO, version, ASN1_INTEGER),
        ASN1_SIMPLE(KL_AC_INFO, holder, KL_AC_HOLDER),
        ASN1_IMP(KL_AC_INFO, issuer, KL_AC_V2FORM, 0),
        ASN1_SIMPLE(KL_AC_INFO, signature, X509_ALGOR),
        ASN1_SIMPLE(KL_AC_INFO, serial, ASN1_INTEGER),
        ASN1_SIMPLE(KL_AC_INFO, validity, KL_AC_VALIDITY),
        ASN1_SEQUENCE_OF(KL_AC_INFO, attributes, X509_ATTRIBUTE),
        ASN1_OPT(KL_AC_INFO, issuer_uid, ASN1_BIT_STRING),
        ASN1_SEQUENCE_OF_OPT(KL_AC_INFO, extensions, X509_EXTENSION),
} static_ASN1_SEQUENCE_END(KL_AC_INFO)

/* AttributeCertificate ::= SEQUENCE { acinfo, signatureAlgorithm, signatureValue } */
typedef struct {
        KL_AC_INFO *info;
        X509_ALGOR *sig_alg;
        ASN1_BIT_STRING *signature;
} KL_ACERT;

ASN1_SEQUENCE(KL_ACERT) = {
        ASN1_SIMPLE(KL_ACERT, info, KL_AC_INFO),
        ASN1_SIMPLE(KL_ACERT, sig_alg, X509_ALGOR),
        ASN1_SIMPLE(KL_ACERT, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(KL_ACERT)

static void acert_free(KL_ACERT *ac);
/* clang-format on */

/* ---- the parsed view ------------------------------------------------------ */

struct kl_platform_cert {
        KL_ACERT *ac;
        struct kl_platform_attrs attrs; /* points into the strings below */
        char *manufacturer, *model, *version, *serial;
};

/* A check failed: the reason goes to why. */
#define refuse(why, why_len, ...) (kl_why_set((why), (why_len), __VA_ARGS__), KL_ERR_VERIFY)

static void acert_free(KL_ACERT *ac)
{
        ASN1_item_free((ASN1_VALUE *)ac, ASN1_ITEM_rptr(KL_ACERT));
}

void kl_platform_cert_free(struct kl_platform_cert *pc)
{
        if (pc == NULL)
                return;
        acert_free(pc->ac);
        free(pc->manufacturer);
        free(pc->model);
        free(pc->version);
        free(pc->serial);
        free(pc);
}

static bool oid_is(const ASN1_OBJECT *obj, const char *dotted)
{
        char buf[64];
        int n = OBJ_obj2txt(buf, sizeof(buf), obj, 1);

        return n > 0 && (size_t)n < sizeof(buf) && strcmp(buf, dotted) == 0;
}

/* The first directoryName of a GeneralNames, or NULL. */
static X509_NAME *first_dirname(const STACK_OF(GENERAL_NAME) * names)
{
        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

                if (g->type == GEN_DIRNAME)
                        return g->d.directoryName;
        }
        return NULL;
}

/* One TCG attribute string: a UTF8String of 1..255 bytes without NUL, set once. */
static int take_attr(const X509_NAME_ENTRY *e, char **slot)
{
        const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
        int len = ASN1_STRING_length(v);
        const unsigned char *p = ASN1_STRING_get0_data(v);

        if (*slot != NULL || ASN1_STRING_type(v) != V_ASN1_UTF8STRING || len < 1 ||
            len > KL_PLATFORM_STR_MAX || memchr(p, '\0', (size_t)len) != NULL)
                return KL_ERR_INVAL;
        if ((*slot = strndup((const char *)p, (size_t)len)) == NULL)
                return KL_ERR_NOMEM;
        return 0;
}

/* Platform attributes from the directoryName(s) of a subjectAltName extension. */
static int read_san(struct kl_platform_cert *pc, const X509_EXTENSION *ext)
{
        const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data((X509_EXTENSION *)(uintptr_t)ext);
        const unsigned char *p = ASN1_STRING_get0_data(os);
        const unsigned char *end = p + ASN1_STRING_length(os);
        GENERAL_NAMES *gens = d2i_GENERAL_NAMES(NULL, &p, ASN1_STRING_length(os));
        int r = KL_ERR_INVAL;

        if (gens == NULL || p != end)
                goto out;
        for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
                const X509_NAME *name;

                if (g->type != GEN_DIRNAME)
                        continue;
                name = g->d.directoryName;
                for (int j = 0; j < X509_NAME_entry_count(name); j++) {
                        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, j);
                        const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(e);
                        char **slot = NULL;

                        if (oid_is(o, OID_PLATFORM_MANUFACTURER))
                                slot = &pc->manufacturer;
                        else if (oid_is(o, OID_PLATFORM_MODEL))
                                slot = &pc->model;
                        else if (oid_is(o, OID_PLATFORM_VERSION))
                                slot = &pc->version;
                        else if (oid_is(o, OID_PLATFORM_SERIAL))
                                slot = &pc->serial;
                        if (slot != NULL && (r = take_attr(e, slot)) < 0)
                                goto out;
                }
        }
        r = 0;
out:
        ERR_clear_error();
        GENERAL_NAMES_free(gens);
        return r;
}

/* The profile's shape beyond what the templates enforce. */
static int check_shape(struct kl_platform_cert *pc)
{
        const KL_AC_INFO *info = pc->ac->info;
        bool have_san = false;
        int r;

        if (ASN1_INTEGER_get(info->version) != AC_VERSION_2 || info->holder->base_cert_id == NULL ||
            first_dirname(info->holder->base_cert_id->issuer) == NULL ||
            info->issuer->issuer_name == NULL || first_dirname(info->issuer->issuer_name) == NULL ||
            X509_ALGOR_cmp(info->signature, pc->ac->sig_alg) != 0 ||
            ASN1_STRING_type(info->serial) != V_ASN1_INTEGER ||
            ASN1_STRING_length(info->serial) > SERIAL_MAX)
                return KL_ERR_INVAL;
        for (int i = 0; i < sk_X509_EXTENSION_num(info->extensions); i++) {
                const X509_EXTENSION *ext = sk_X509_EXTENSION_value(info->extensions, i);
                const ASN1_OBJECT *o = X509_EXTENSION_get_object((X509_EXTENSION *)(uintptr_t)ext);

                if (OBJ_obj2nid(o) == NID_subject_alt_name) {
                        if (have_san)
                                return KL_ERR_INVAL;
                        have_san = true;
                        if ((r = read_san(pc, ext)) < 0)
                                return r;
                } else if (X509_EXTENSION_get_critical(ext)) {
                        return KL_ERR_INVAL; /* RFC 5280 4.2: unknown critical extension */
                }
        }
        if (pc->manufacturer == NULL || pc->model == NULL || pc->version == NULL)
                return KL_ERR_INVAL;
        pc->attrs.manufacturer = pc->manufacturer;
        pc->attrs.model = pc->model;
        pc->attrs.version = pc->version;
        pc->attrs.serial = pc->serial;
        return 0;
}

int kl_platform_cert_parse(const uint8_t *der, size_t len, struct kl_platform_cert **ret)
{
        struct kl_platform_cert *pc = NULL;
        const unsigned char *p = der;
        unsigned char *again = NULL;
        int again_len, r = KL_ERR_INVAL;

        if (der == NULL || len == 0 || len > KL_PLATFORM_CERT_MAX)
                goto out;
        if ((pc = calloc(1, sizeof(*pc))) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        pc->ac = (KL_ACERT *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(KL_ACERT));
        if (pc->ac == NULL || p != der + len)
                goto out;
        /* DER only: the signature covers one encoding, the one we would produce. */
        again_len = ASN1_item_i2d((ASN1_VALUE *)pc->ac, &again, ASN1_ITEM_rptr(KL_ACERT));
        if (again_len <= 0 || (size_t)again_len != len || memcmp(again, der, len) != 0)
                goto out;
        if ((r = check_shape(pc)) < 0)
                goto out;
        *ret = pc;
        pc = NULL;
        r = 0;
out:
        ERR_clear_error(); /* a refusal of outside input is not an OpenSSL failure */
        OPENSSL_free(again);
        kl_platform_cert_free(pc);
        return r;
}

const struct kl_platform_attrs *kl_platform_cert_attrs(const struct kl_platform_cert *pc)
{
        return &pc->attrs;
}

static int time_text(const ASN1_TIME *t, char out[21])
{
        struct tm tm;

        if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
                ERR_clear_error();
                return KL_ERR_INVAL;
        }
        return 0;
}

int kl_platform_cert_validity(const struct kl_platform_cert *pc, char not_before[21],
                              char not_after[21])
{
        int r;

        if ((r = time_text(pc->ac->info->validity->not_before, not_before)) < 0)
                return r;
        return time_text(pc->ac->info->validity->not_after, not_after);
}

static int integer_hex(const ASN1_INTEGER *i, char *out, size_t len)
{
        size_t n = (size_t)ASN1_STRING_length(i);

        if (n == 0 || n > SERIAL_MAX || len < 2 * n + 1)
                return KL_ERR_TOO_LONG;
        kl_hex_encode_to(ASN1_STRING_get0_data(i), n, out);
        return 0;
}

int kl_platform_cert_serial_hex(const struct kl_platform_cert *pc, char *out, size_t len)
{
        return integer_hex(pc->ac->info->serial, out, len);
}

/* One-line DN for a reason text. */
static void dn_text(const X509_NAME *name, char *out, size_t len)
{
        if (X509_NAME_oneline(name, out, (int)len) == NULL)
                (void)snprintf(out, len, "?");
}

int kl_platform_cert_check_holder(const struct kl_platform_cert *pc, X509 *ek_cert, char *why,
                                  size_t why_len)
{
        const KL_AC_ISSUER_SERIAL *base = pc->ac->info->holder->base_cert_id;
        const ASN1_INTEGER *ek_serial = X509_get0_serialNumber(ek_cert);
        char a[2 * SERIAL_MAX + 1], b[2 * SERIAL_MAX + 1], dn[256];
        bool issuer_ok = false;

        for (int i = 0; i < sk_GENERAL_NAME_num(base->issuer); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(base->issuer, i);

                if (g->type == GEN_DIRNAME &&
                    X509_NAME_cmp(g->d.directoryName, X509_get_issuer_name(ek_cert)) == 0)
                        issuer_ok = true;
        }
        if (!issuer_ok) {
                dn_text(first_dirname(base->issuer), dn, sizeof(dn));
                return refuse(why, why_len,
                              "platform certificate holder names issuer '%s', not the EK "
                              "certificate's issuer",
                              dn);
        }
        if (ASN1_INTEGER_cmp(base->serial, ek_serial) != 0) {
                if (integer_hex(base->serial, a, sizeof(a)) < 0)
                        (void)snprintf(a, sizeof(a), "?");
                if (integer_hex(ek_serial, b, sizeof(b)) < 0)
                        (void)snprintf(b, sizeof(b), "?");
                return refuse(why, why_len,
                              "platform certificate holder serial number %s is not the EK "
                              "certificate's serial number %s",
                              a, b);
        }
        return 0;
}

int kl_platform_cert_check_dates(const struct kl_platform_cert *pc, time_t now, char *why,
                                 size_t why_len)
{
        const KL_AC_VALIDITY *v = pc->ac->info->validity;
        char nb[21], na[21];

        if (kl_platform_cert_validity(pc, nb, na) < 0)
                return refuse(why, why_len, "platform certificate has unreadable dates");
        if (ASN1_TIME_cmp_time_t(v->not_before, now) > 0)
                return refuse(why, why_len, "platform certificate is not yet valid (notBefore %s)",
                              nb);
        if (ASN1_TIME_cmp_time_t(v->not_after, now) < 0)
                return refuse(why, why_len, "platform certificate has expired (notAfter %s)", na);
        return 0;
}

int kl_platform_cert_verify(const struct kl_platform_cert *pc, const char *ca_dir, char *why,
                            size_t why_len)
{
        const X509_NAME *issuer = first_dirname(pc->ac->info->issuer->issuer_name);
        X509_STORE *store = NULL;
        X509_STORE_CTX *ctx = NULL;
        STACK_OF(X509) *cands = NULL;
        X509 *ca = NULL;
        char dn[256], reason[256];
        int r;

        dn_text(issuer, dn, sizeof(dn));
        if ((r = kl_x509_store_from_dir(ca_dir, &store, reason, sizeof(reason))) < 0) {
                r = refuse(why, why_len, "platform CA directory unusable: %s", reason);
                goto out;
        }
        if ((ctx = X509_STORE_CTX_new()) == NULL ||
            X509_STORE_CTX_init(ctx, store, NULL, NULL) != 1) {
                r = kl_crypto_err("X509_STORE_CTX_init");
                goto out;
        }
        cands = X509_STORE_CTX_get1_certs(ctx, (X509_NAME *)(uintptr_t)issuer);
        ERR_clear_error();
        if (sk_X509_num(cands) <= 0) {
                r = refuse(why, why_len,
                           "platform certificate issuer '%s' is not a trusted platform CA", dn);
                goto out;
        }
        for (int i = 0; i < sk_X509_num(cands) && ca == NULL; i++) {
                X509 *c = sk_X509_value(cands, i);

                if (ASN1_item_verify(ASN1_ITEM_rptr(KL_AC_INFO), pc->ac->sig_alg, pc->ac->signature,
                                     pc->ac->info, X509_get0_pubkey(c)) == 1)
                        ca = c;
        }
        ERR_clear_error();
        if (ca == NULL) {
                r = refuse(why, why_len,
                           "platform certificate signature does not verify with platform CA '%s'",
                           dn);
                goto out;
        }
        /* The CA certificate itself: dates and its own chain inside ca_dir. */
        X509_STORE_CTX_cleanup(ctx);
        if (X509_STORE_CTX_init(ctx, store, ca, NULL) != 1) {
                r = kl_crypto_err("X509_STORE_CTX_init");
                goto out;
        }
        if (X509_verify_cert(ctx) != 1) {
                r = refuse(why, why_len, "platform CA '%s' is not valid: %s", dn,
                           X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
                ERR_clear_error();
                goto out;
        }
        r = 0;
out:
        sk_X509_pop_free(cands, X509_free);
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        return r;
}

int kl_platform_cert_check(const uint8_t *der, size_t len, X509 *ek_cert, const char *ca_dir,
                           time_t now, struct kl_platform_cert **ret, char *why, size_t why_len)
{
        struct kl_platform_cert *pc = NULL;
        int r;

        if ((r = kl_platform_cert_parse(der, len, &pc)) < 0) {
                if (r == KL_ERR_INVAL)
                        r = refuse(why, why_len,
                                   "platform certificate is not a DER TCG platform attribute "
                                   "certificate");
                goto out;
        }
        if ((r = kl_platform_cert_check_holder(pc, ek_cert, why, why_len)) < 0 ||
            (r = kl_platform_cert_check_dates(pc, now, why, why_len)) < 0 ||
            (r = kl_platform_cert_verify(pc, ca_dir, why, why_len)) < 0)
                goto out;
        if (ret != NULL) {
                *ret = pc;
                pc = NULL;
        }
out:
        kl_platform_cert_free(pc);
        return r;
}

/* ---- building (test PKI) ------------------------------------------------------ */

/* GeneralNames holding one directoryName, a copy of name. */
static STACK_OF(GENERAL_NAME) * dirname_names(const X509_NAME *name)
{
        STACK_OF(GENERAL_NAME) *names = sk_GENERAL_NAME_new_null();
        GENERAL_NAME *g = GENERAL_NAME_new();
        X509_NAME *copy = X509_NAME_dup(name);

        if (names == NULL || g == NULL || copy == NULL)
                goto fail;
        GENERAL_NAME_set0_value(g, GEN_DIRNAME, copy);
        copy = NULL;
        if (sk_GENERAL_NAME_push(names, g) <= 0)
                goto fail;
        return names;
fail:
        X509_NAME_free(copy);
        GENERAL_NAME_free(g);
        sk_GENERAL_NAME_free(names);
        return NULL;
}

static int add_utf8(X509_NAME *name, const char *oid, const char *value)
{
        ASN1_OBJECT *obj = NULL;
        int r = KL_ERR_INVAL;

        if (value == NULL)
                return 0;
        if (strlen(value) < 1 || strlen(value) > KL_PLATFORM_STR_MAX)
                return KL_ERR_INVAL;
        if ((obj = OBJ_txt2obj(oid, 1)) == NULL ||
            X509_NAME_add_entry_by_OBJ(name, obj, V_ASN1_UTF8STRING, (const unsigned char *)value,
                                       (int)strlen(value), -1, 0) != 1) {
                r = kl_crypto_err("X509_NAME_add_entry_by_OBJ");
                goto out;
        }
        r = 0;
out:
        ASN1_OBJECT_free(obj);
        return r;
}

/* subjectAltName with one directoryName of the platform attributes (TCG profile 3.1.2). */
static int add_attrs_ext(KL_AC_INFO *info, const struct kl_platform_attrs *a)
{
        X509_NAME *name = X509_NAME_new();
        STACK_OF(GENERAL_NAME) *names = NULL;
        X509_EXTENSION *ext = NULL;
        int r;

        if (name == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if ((r = add_utf8(name, OID_PLATFORM_MANUFACTURER, a->manufacturer)) < 0 ||
            (r = add_utf8(name, OID_PLATFORM_MODEL, a->model)) < 0 ||
            (r = add_utf8(name, OID_PLATFORM_VERSION, a->version)) < 0 ||
            (r = add_utf8(name, OID_PLATFORM_SERIAL, a->serial)) < 0)
                goto out;
        r = KL_ERR_NOMEM;
        if ((names = dirname_names(name)) == NULL ||
            (ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, names)) == NULL)
                goto out;
        if (info->extensions == NULL && (info->extensions = sk_X509_EXTENSION_new_null()) == NULL)
                goto out;
        if (sk_X509_EXTENSION_push(info->extensions, ext) <= 0)
                goto out;
        ext = NULL;
        r = 0;
out:
        X509_EXTENSION_free(ext);
        GENERAL_NAMES_free(names);
        X509_NAME_free(name);
        return r;
}

static int add_credential_type(KL_AC_INFO *info)
{
        ASN1_OBJECT *obj = OBJ_txt2obj(OID_TCG_CREDENTIAL_TYPE, 1);
        X509_ATTRIBUTE *attr = NULL;
        int r = KL_ERR_NOMEM;

        if (obj == NULL || (attr = X509_ATTRIBUTE_create_by_OBJ(
                                NULL, obj, V_ASN1_SEQUENCE, credential_type_platform,
                                (int)sizeof(credential_type_platform))) == NULL)
                goto out;
        if (sk_X509_ATTRIBUTE_push(info->attributes, attr) <= 0)
                goto out;
        attr = NULL;
        r = 0;
out:
        X509_ATTRIBUTE_free(attr);
        ASN1_OBJECT_free(obj);
        return r;
}

int kl_platform_cert_make(const struct kl_platform_cert_spec *spec, X509 *holder, X509 *issuer_cert,
                          EVP_PKEY *issuer_key, uint8_t **ret_der, size_t *ret_len)
{
        KL_ACERT *ac = NULL;
        KL_AC_INFO *info;
        unsigned char *der = NULL;
        int len, r = KL_ERR_NOMEM;

        if (spec == NULL || holder == NULL || issuer_cert == NULL || issuer_key == NULL ||
            spec->serial_number == 0 || spec->attrs.manufacturer == NULL ||
            spec->attrs.model == NULL || spec->attrs.version == NULL)
                return KL_ERR_INVAL;
        if ((ac = (KL_ACERT *)ASN1_item_new(ASN1_ITEM_rptr(KL_ACERT))) == NULL)
                goto out;
        info = ac->info;
        if ((info->holder->base_cert_id =
                 (KL_AC_ISSUER_SERIAL *)ASN1_item_new(ASN1_ITEM_rptr(KL_AC_ISSUER_SERIAL))) == NULL)
                goto out;
        /* ASN1_item_new made an empty issuer list and serial: replace them. */
        sk_GENERAL_NAME_pop_free(info->holder->base_cert_id->issuer, GENERAL_NAME_free);
        ASN1_INTEGER_free(info->holder->base_cert_id->serial);
        info->holder->base_cert_id->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(holder));
        if ((info->holder->base_cert_id->issuer = dirname_names(X509_get_issuer_name(holder))) ==
                NULL ||
            info->holder->base_cert_id->serial == NULL ||
            (info->issuer->issuer_name = dirname_names(X509_get_subject_name(issuer_cert))) == NULL)
                goto out;
        if (ASN1_INTEGER_set(info->version, AC_VERSION_2) != 1 ||
            ASN1_INTEGER_set_uint64(info->serial, spec->serial_number) != 1 ||
            ASN1_GENERALIZEDTIME_set(info->validity->not_before, spec->not_before) == NULL ||
            ASN1_GENERALIZEDTIME_set(info->validity->not_after, spec->not_after) == NULL) {
                r = kl_crypto_err("platform certificate fields");
                goto out;
        }
        if ((r = add_credential_type(info)) < 0 || (r = add_attrs_ext(info, &spec->attrs)) < 0)
                goto out;
        if (ASN1_item_sign(ASN1_ITEM_rptr(KL_AC_INFO), info->signature, ac->sig_alg, ac->signature,
                           info, issuer_key, EVP_sha256()) <= 0) {
                r = kl_crypto_err("ASN1_item_sign(platform certificate)");
                goto out;
        }
        if ((len = ASN1_item_i2d((ASN1_VALUE *)ac, &der, ASN1_ITEM_rptr(KL_ACERT))) <= 0) {
                r = kl_crypto_err("ASN1_item_i2d(platform certificate)");
                goto out;
        }
        if ((*ret_der = malloc((size_t)len)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        memcpy(*ret_der, der, (size_t)len);
        *ret_len = (size_t)len;
        r = 0;
out:
        OPENSSL_free(der);
        acert_free(ac);
        return r;
}
