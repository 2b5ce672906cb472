/* SPDX-License-Identifier: Apache-2.0 */
/*
 * X.509: parsing (PEM, base64 DER or DER), files, self-signed certificates
 * for the agent's TLS server, certificates a CA issues (certified TPM keys), and chain verification
 * against a directory of CA files with the EK-certificate quirks tolerated.
 */
#include "x509.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "pem_io.h"
#include "pkey.h"
#include "primitives.h"

/* X.509 */

static int write_x509(BIO *bio, void *obj)
{
        return PEM_write_bio_X509(bio, obj);
}

static bool is_space(uint8_t c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* base64 DER text, possibly line-wrapped (as a PEM body would be) */
static int x509_from_b64(const uint8_t *data, size_t len, X509 **ret_cert)
{
        char *compact = NULL;
        uint8_t *der = NULL;
        const unsigned char *p;
        size_t n = 0, der_len = 0;
        X509 *cert = NULL;
        int r = KL_ERR_NOMEM;

        if ((compact = malloc(len + 1)) == NULL)
                goto out;
        for (size_t i = 0; i < len; i++) {
                if (!is_space(data[i]))
                        compact[n++] = (char)data[i];
        }
        r = kl_b64_decode(compact, n, &der, &der_len);
        if (r < 0)
                goto out;
        p = der;
        if ((cert = d2i_X509(NULL, &p, (long)der_len)) == NULL) {
                ERR_clear_error();
                r = KL_ERR_INVAL;
                goto out;
        }
        *ret_cert = cert;
        r = 0;
out:
        free(compact);
        free(der);
        return r;
}

int kl_x509_parse_any(const uint8_t *data, size_t len, X509 **ret_cert)
{
        static const char pem_begin[] = "-----BEGIN";
        const unsigned char *p;
        size_t skip = 0;
        BIO *bio = NULL;
        X509 *cert = NULL;
        int r = KL_ERR_INVAL;

        if (data == NULL || ret_cert == NULL || len == 0)
                return KL_ERR_INVAL;
        if (len > KL_PEM_FILE_MAX)
                return KL_ERR_TOO_LONG;
        while (skip < len && is_space(data[skip]))
                skip++;
        if (len - skip >= sizeof(pem_begin) - 1 &&
            memcmp(data + skip, pem_begin, sizeof(pem_begin) - 1) == 0) {
                if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
                        r = KL_ERR_NOMEM;
                        goto out;
                }
                if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
                        ERR_clear_error();
                        goto out;
                }
        } else if (data[0] == 0x30) {
                /* DER SEQUENCE; '0' (0x30) cannot start a valid base64 certificate ("MII…") */
                p = data;
                if ((cert = d2i_X509(NULL, &p, (long)len)) == NULL) {
                        ERR_clear_error();
                        goto out;
                }
        } else {
                r = x509_from_b64(data, len, &cert);
                if (r < 0)
                        goto out;
        }
        *ret_cert = cert;
        r = 0;
out:
        BIO_free(bio);
        return r;
}

int kl_x509_parse_bundle(const char *text, size_t max_chain, X509 **ret_cert,
                         STACK_OF(X509) * *ret_chain)
{
        static const char pem_cert[] = "-----BEGIN CERTIFICATE-----";
        STACK_OF(X509) *chain = NULL;
        X509 *cert = NULL;
        X509 *extra = NULL;
        const char *p;
        int r;

        if ((r = kl_x509_parse_any((const uint8_t *)text, strlen(text), &cert)) < 0)
                goto out;
        r = KL_ERR_NOMEM;
        if ((chain = sk_X509_new_null()) == NULL)
                goto out;
        p = strstr(text, pem_cert);
        /* the first block was the certificate; every further one is a chain link */
        while (p != NULL && (p = strstr(p + 1, pem_cert)) != NULL) {
                if ((size_t)sk_X509_num(chain) >= max_chain) {
                        r = KL_ERR_INVAL;
                        goto out;
                }
                if ((r = kl_x509_parse_any((const uint8_t *)p, strlen(p), &extra)) < 0)
                        goto out;
                if (sk_X509_push(chain, extra) <= 0) {
                        X509_free(extra);
                        r = KL_ERR_NOMEM;
                        goto out;
                }
        }
        *ret_cert = cert;
        *ret_chain = chain;
        cert = NULL;
        chain = NULL;
        r = 0;
out:
        X509_free(cert);
        kl_x509_chain_free(chain);
        return r;
}

void kl_x509_chain_free(STACK_OF(X509) * chain)
{
        sk_X509_pop_free(chain, X509_free);
}

int kl_x509_load_file(const char *path, X509 **ret_cert)
{
        uint8_t *data = NULL;
        size_t len = 0;
        int r;

        if (path == NULL || ret_cert == NULL)
                return KL_ERR_INVAL;
        r = kl_pem_read_small_file(path, &data, &len);
        if (r < 0)
                return r;
        r = kl_x509_parse_any(data, len, ret_cert);
        free(data);
        return r;
}

int kl_x509_to_pem(X509 *cert, char **ret_pem)
{
        return cert != NULL ? kl_pem_string(write_x509, cert, "PEM_write_bio_X509", ret_pem)
                            : KL_ERR_INVAL;
}

int kl_x509_to_der(X509 *cert, uint8_t **ret_der, size_t *ret_len)
{
        unsigned char *der = NULL;
        uint8_t *copy;
        int len;

        if (cert == NULL || ret_der == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        if ((len = i2d_X509(cert, &der)) <= 0)
                return kl_crypto_err("i2d_X509");
        /* hand out malloc() memory so callers free() as everywhere else */
        if ((copy = malloc((size_t)len)) == NULL) {
                OPENSSL_free(der);
                return KL_ERR_NOMEM;
        }
        memcpy(copy, der, (size_t)len);
        OPENSSL_free(der);
        *ret_der = copy;
        *ret_len = (size_t)len;
        return 0;
}

int kl_x509_save_pem(const char *path, X509 *cert)
{
        char *pem = NULL;
        int r;

        if (path == NULL || cert == NULL)
                return KL_ERR_INVAL;
        r = kl_x509_to_pem(cert, &pem);
        if (r < 0)
                return r;
        r = kl_file_write_atomic(path, pem, strlen(pem), 0644);
        free(pem);
        return r;
}

/* subjectAltName with one IP (v4 or v6) or DNS entry, built as data, not config text */
static int add_san(X509 *cert, const char *san)
{
        GENERAL_NAMES *gens = NULL;
        GENERAL_NAME *gen = NULL;
        ASN1_OCTET_STRING *ip = NULL;
        ASN1_IA5STRING *dns = NULL;
        int r = KL_ERR_CRYPTO;

        if ((gens = sk_GENERAL_NAME_new_null()) == NULL || (gen = GENERAL_NAME_new()) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if ((ip = a2i_IPADDRESS(san)) != NULL) {
                GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
                ip = NULL;
        } else {
                ERR_clear_error();
                if (san[0] == '\0' || strlen(san) > 253) {
                        r = KL_ERR_INVAL;
                        goto out;
                }
                if ((dns = ASN1_IA5STRING_new()) == NULL ||
                    ASN1_STRING_set(dns, san, (int)strlen(san)) != 1) {
                        r = KL_ERR_NOMEM;
                        goto out;
                }
                GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
                dns = NULL;
        }
        if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        gen = NULL;
        if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_REPLACE) != 1) {
                r = kl_crypto_err("X509_add1_ext_i2d(subjectAltName)");
                goto out;
        }
        r = 0;
out:
        ASN1_OCTET_STRING_free(ip);
        ASN1_IA5STRING_free(dns);
        GENERAL_NAME_free(gen);
        GENERAL_NAMES_free(gens);
        return r;
}

/* A CN of at most 64 bytes (X.520), cut on a UTF-8 character boundary. */
static int add_cn(X509_NAME *name, const char *cn)
{
        size_t cn_len = strlen(cn);

        if (cn_len > 64) {
                cn_len = 64;
                while (cn_len > 0 && ((uint8_t)cn[cn_len] & 0xc0) == 0x80)
                        cn_len--;
        }
        if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                       (int)cn_len, -1, 0) != 1)
                return kl_crypto_err("X509_NAME_add_entry_by_txt");
        return 0;
}

/*
 * "/CN=a/O=b" (openssl -subj style, no escapes) or a bare CN into name;
 * KL_ERR_INVAL for an empty or unknown attribute.
 */
static int parse_subject(const char *subject, X509_NAME *name)
{
        char buf[512];
        char *p, *next;
        int n;

        if (subject[0] != '/')
                return subject[0] == '\0' ? KL_ERR_INVAL : add_cn(name, subject);
        n = snprintf(buf, sizeof(buf), "%s", subject + 1);
        if (n < 0 || (size_t)n >= sizeof(buf))
                return KL_ERR_TOO_LONG;
        for (p = buf; p != NULL; p = next) {
                char *eq = strchr(p, '=');

                if ((next = strchr(p, '/')) != NULL)
                        *next++ = '\0';
                if (eq == NULL || eq == p || eq[1] == '\0')
                        return KL_ERR_INVAL;
                *eq = '\0';
                if (X509_NAME_add_entry_by_txt(name, p, MBSTRING_UTF8,
                                               (const unsigned char *)(eq + 1), -1, -1, 0) != 1) {
                        ERR_clear_error(); /* an unknown attribute is the caller's mistake */
                        return KL_ERR_INVAL;
                }
        }
        return 0;
}

/* A v3 leaf certificate for key, signed by signer (SHA-256), random serial, now..+days. */
static int build_leaf(EVP_PKEY *key, X509_NAME *subject, X509_NAME *issuer, EVP_PKEY *signer,
                      const char *san, unsigned days, bool tls_usage, X509 **ret_cert)
{
        X509 *cert = NULL;
        BASIC_CONSTRAINTS *bc = NULL;
        BIGNUM *serial = NULL;
        uint8_t rnd[20];
        int r;

        if (days == 0 || days > 36500)
                return KL_ERR_INVAL;
        if ((r = kl_random_bytes(rnd, sizeof(rnd))) < 0)
                return r;
        rnd[0] &= 0x7f; /* positive, at most 20 octets (RFC 5280 4.1.2.2) */
        rnd[0] |= 0x01; /* and non-zero */
        r = KL_ERR_CRYPTO;
        if ((cert = X509_new()) == NULL || (bc = BASIC_CONSTRAINTS_new()) == NULL ||
            (serial = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if (X509_set_version(cert, X509_VERSION_3) != 1 ||
            BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) == NULL ||
            X509_set_subject_name(cert, subject) != 1 || X509_set_issuer_name(cert, issuer) != 1 ||
            X509_gmtime_adj(X509_getm_notBefore(cert), 0) == NULL ||
            X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) == NULL ||
            X509_set_pubkey(cert, key) != 1) {
                r = kl_crypto_err("building certificate");
                goto out;
        }
        bc->ca = 0;
        if (X509_add1_ext_i2d(cert, NID_basic_constraints, bc, 1, X509V3_ADD_REPLACE) != 1) {
                r = kl_crypto_err("X509_add1_ext_i2d(basicConstraints)");
                goto out;
        }
        /* a signing key only: TLS client or server authentication */
        if (tls_usage) {
                X509_EXTENSION *ku =
                    X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage, "critical,digitalSignature");
                X509_EXTENSION *eku =
                    X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage, "serverAuth,clientAuth");
                int ok = ku != NULL && eku != NULL && X509_add_ext(cert, ku, -1) == 1 &&
                         X509_add_ext(cert, eku, -1) == 1;

                X509_EXTENSION_free(ku);
                X509_EXTENSION_free(eku);
                if (!ok) {
                        r = kl_crypto_err("X509_add_ext(keyUsage)");
                        goto out;
                }
        }
        if (san != NULL && san[0] != '\0' && (r = add_san(cert, san)) < 0)
                goto out;
        if (X509_sign(cert, signer, EVP_sha256()) <= 0) {
                r = kl_crypto_err("X509_sign");
                goto out;
        }
        *ret_cert = cert;
        cert = NULL;
        r = 0;
out:
        BN_free(serial);
        BASIC_CONSTRAINTS_free(bc);
        X509_free(cert);
        return r;
}

int kl_x509_self_signed(EVP_PKEY *key, const char *cn, const char *san, unsigned days,
                        X509 **ret_cert)
{
        X509_NAME *name = NULL;
        int r;

        if (key == NULL || cn == NULL || cn[0] == '\0' || ret_cert == NULL)
                return KL_ERR_INVAL;
        if ((name = X509_NAME_new()) == NULL)
                return KL_ERR_NOMEM;
        if ((r = add_cn(name, cn)) == 0)
                r = build_leaf(key, name, name, key, san, days, false, ret_cert);
        X509_NAME_free(name);
        return r;
}

int kl_x509_issue(EVP_PKEY *key, const char *subject, const char *san, unsigned days, X509 *ca_cert,
                  EVP_PKEY *ca_key, X509 **ret_cert)
{
        X509_NAME *name = NULL;
        int r;

        if (key == NULL || subject == NULL || ca_cert == NULL || ca_key == NULL || ret_cert == NULL)
                return KL_ERR_INVAL;
        if (X509_check_private_key(ca_cert, ca_key) != 1) {
                ERR_clear_error();
                return KL_ERR_INVAL;
        }
        if ((name = X509_NAME_new()) == NULL)
                return KL_ERR_NOMEM;
        if ((r = parse_subject(subject, name)) == 0)
                r = build_leaf(key, name, X509_get_subject_name(ca_cert), ca_key, san, days, true,
                               ret_cert);
        X509_NAME_free(name);
        return r;
}

EVP_PKEY *kl_x509_public_key(X509 *cert)
{
        return cert != NULL ? X509_get_pubkey(cert) : NULL;
}

static bool has_cert_suffix(const char *name)
{
        size_t len = strlen(name);

        if (len < 5)
                return false;
        return strcmp(name + len - 4, ".pem") == 0 || strcmp(name + len - 4, ".crt") == 0 ||
               strcmp(name + len - 4, ".cer") == 0;
}

/* Adds every certificate of a PEM file to store; returns how many, or < 0. */
static int store_add_pem_file(X509_STORE *store, const char *path)
{
        uint8_t *data = NULL;
        size_t len = 0;
        BIO *bio = NULL;
        X509 *cert = NULL;
        int r, count = 0;

        r = kl_pem_read_small_file(path, &data, &len);
        if (r < 0)
                goto out;
        if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
                if (X509_STORE_add_cert(store, cert) != 1) {
                        X509_free(cert);
                        r = kl_crypto_err("X509_STORE_add_cert");
                        goto out;
                }
                X509_free(cert);
                count++;
        }
        ERR_clear_error(); /* the end of the file shows up as a "no start line" error */
        r = count;
out:
        BIO_free(bio);
        free(data);
        return r;
}

int kl_x509_store_from_dir(const char *ca_dir, X509_STORE **ret_store, char *why, size_t why_len)
{
        X509_STORE *store = NULL;
        DIR *d = NULL;
        struct dirent *e;
        int r = KL_ERR_NOMEM, loaded = 0;

        if (why != NULL && why_len > 0)
                why[0] = '\0';
        if (ca_dir == NULL)
                return KL_ERR_INVAL;
        if ((store = X509_STORE_new()) == NULL)
                goto out;
        if ((d = opendir(ca_dir)) == NULL) {
                kl_why_set(why, why_len, "cannot open CA directory %s", ca_dir);
                r = errno == ENOENT ? KL_ERR_NOT_FOUND : KL_ERR_IO;
                goto out;
        }
        while ((e = readdir(d)) != NULL) {
                char path[PATH_MAX];
                struct stat st;
                int n;

                if (e->d_name[0] == '.' || !has_cert_suffix(e->d_name))
                        continue;
                n = snprintf(path, sizeof(path), "%s/%s", ca_dir, e->d_name);
                if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) != 0 ||
                    !S_ISREG(st.st_mode))
                        continue;
                n = store_add_pem_file(store, path);
                if (n < 0) {
                        /* one unreadable file must not hide the others */
                        log_warn("ignoring CA file %s: %s", path, kl_err_str(n));
                        continue;
                }
                loaded += n;
        }
        if (loaded == 0) {
                kl_why_set(why, why_len, "no CA certificates in %s", ca_dir);
                r = KL_ERR_VERIFY;
                goto out;
        }
        *ret_store = store;
        store = NULL;
        r = 0;
out:
        if (d != NULL)
                closedir(d);
        X509_STORE_free(store);
        return r;
}

int kl_x509_verify_with_ca_dir(X509 *cert, const char *ca_dir, STACK_OF(X509) * untrusted,
                               char *why, size_t why_len)
{
        X509_STORE *store = NULL;
        X509_STORE_CTX *ctx = NULL;
        int r, ok;

        if (why != NULL && why_len > 0)
                why[0] = '\0';
        if (cert == NULL || ca_dir == NULL)
                return KL_ERR_INVAL;
        if ((r = kl_x509_store_from_dir(ca_dir, &store, why, why_len)) < 0)
                goto out;
        r = KL_ERR_NOMEM;
        if ((ctx = X509_STORE_CTX_new()) == NULL)
                goto out;
        if (X509_STORE_CTX_init(ctx, store, cert, untrusted) != 1) {
                r = kl_crypto_err("X509_STORE_CTX_init");
                goto out;
        }
        /*
         * No purpose or trust setting: EK certificates carry the TCG EKU
         * 2.23.133.8.1, which any TLS purpose check would refuse. OpenSSL
         * handles the critical subjectAltName (directoryName) itself.
         */
        ok = X509_verify_cert(ctx);
        if (ok != 1) {
                int err = X509_STORE_CTX_get_error(ctx);

                kl_why_set(why, why_len, "%s", X509_verify_cert_error_string(err));
                ERR_clear_error();
                r = KL_ERR_VERIFY;
                goto out;
        }
        r = 0;
out:
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        return r;
}

void kl_x509_free(X509 *cert)
{
        X509_free(cert);
}

bool kl_x509_matches_key(X509 *cert, EVP_PKEY *key)
{
        EVP_PKEY *cert_key = cert != NULL ? X509_get0_pubkey(cert) : NULL;

        return cert_key != NULL && kl_pubkey_equal(cert_key, key);
}

int kl_x509_verify_with_ca_dir_blobs(X509 *cert, const char *ca_dir, uint8_t *const *blobs,
                                     const size_t *lens, size_t n, char *why, size_t why_len)
{
        STACK_OF(X509) *untrusted = NULL;
        int r = KL_ERR_NOMEM;

        if (n > 0 && (blobs == NULL || lens == NULL))
                return KL_ERR_INVAL;
        if ((untrusted = sk_X509_new_null()) == NULL)
                goto out;
        for (size_t i = 0; i < n; i++) {
                X509 *c = NULL;

                if (kl_x509_parse_any(blobs[i], lens[i], &c) == 0 &&
                    sk_X509_push(untrusted, c) <= 0)
                        X509_free(c);
        }
        r = kl_x509_verify_with_ca_dir(cert, ca_dir, untrusted, why, why_len);
out:
        sk_X509_pop_free(untrusted, X509_free);
        return r;
}
