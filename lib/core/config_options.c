/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every agent option described once (config_options.h): the table below
 * names its field in struct kl_agent_config (the kind is derived from the
 * field's C type), its default, its range or validator, how it is resolved
 * as a path, and whether a non-default value is something the agent does
 * not implement. Nothing else lists the options. Then typed access to a
 * field, and the validators.
 */
#include "config_options.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hash_alg.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *check_list(const char *v);
static const char *check_hash_alg(const char *v);
static const char *check_encryption_alg(const char *v);
static const char *check_signing_alg(const char *v);
static const char *check_ek_handle(const char *v);
static const char *check_handle(const char *v);
static const char *check_password(const char *v);
static const char *check_file_name(const char *v);
static const char *check_tmpfs_size(const char *v);

#define FIELD_KIND(f)                                                                              \
        _Generic(((struct kl_agent_config *)0)->f,                                                 \
                char *: OPT_STR,                                                                   \
                uint16_t: OPT_U16,                                                                 \
                uint32_t: OPT_U32,                                                                 \
                bool: OPT_BOOL)
/* 0, or a compile error when cond is false: each macro checks its field's C type. */
#define ZERO_UNLESS(cond) (0 * sizeof(struct { int ok : (cond) ? 1 : -1; }))
#define KIND_OF(f, k)     ((enum opt_kind)((k) + ZERO_UNLESS(FIELD_KIND(f) == (k))))

#define STR(f, def, fl, chk)                                                                       \
        {                                                                                          \
                .name = #f, .kind = KIND_OF(f, OPT_STR),                                           \
                .offset = offsetof(struct kl_agent_config, f), .def_str = (def), .flags = (fl),    \
                .check = (chk)                                                                     \
        }
#define PATHOPT(f, how, rel, fl)                                                                   \
        {                                                                                          \
                .name = #f, .kind = KIND_OF(f, OPT_STR),                                           \
                .offset = offsetof(struct kl_agent_config, f), .def_str = "default",               \
                .path = (how), .path_default = (rel), .flags = (fl)                                \
        }
#define U16(f, def, lo, hi, fl)                                                                    \
        {                                                                                          \
                .name = #f, .kind = KIND_OF(f, OPT_U16),                                           \
                .offset = offsetof(struct kl_agent_config, f), .def_num = (def), .min = (lo),      \
                .max = (hi), .flags = (fl)                                                         \
        }
#define U32(f, def, lo, hi, fl)                                                                    \
        {                                                                                          \
                .name = #f, .kind = KIND_OF(f, OPT_U32),                                           \
                .offset = offsetof(struct kl_agent_config, f), .def_num = (def), .min = (lo),      \
                .max = (hi), .flags = (fl)                                                         \
        }
#define BOOLOPT(f, def, fl)                                                                        \
        {                                                                                          \
                .name = #f, .kind = KIND_OF(f, OPT_BOOL),                                          \
                .offset = offsetof(struct kl_agent_config, f), .def_num = (def), .min = 0,         \
                .max = 1, .flags = (fl)                                                            \
        }

/* One option per line: the formatter would re-indent the table. */
/* clang-format off */
/* Built-in defaults: agent-config.md §4 (rust-keylime keylime/src/config/base.rs). */
const struct opt kl_cfg_options[] = {
        /* general / identity */
        STR(version, "2.0", 0, NULL),
        STR(api_versions, "default", 0, kl_cfg_check_api_versions),
        STR(uuid, "d432fbb3-d2f1-4a97-9ef7-75bd81c00000", 0, NULL),
        STR(ip, "127.0.0.1", 0, kl_cfg_check_address),
        U16(port, 9002, 1, 65535, 0),
        STR(contact_ip, "127.0.0.1", 0, kl_cfg_check_address),
        U16(contact_port, 9002, 1, 65535, 0),
        STR(keylime_dir, DEFAULT_KEYLIME_DIR, 0, NULL),
        PATHOPT(agent_data_path, PATH_KEYLIME_DIR, "agent_data.json", 0),
        STR(run_as, "keylime:tss", OPTF_ROOT_DEFAULT, NULL),
        PATHOPT(ima_ml_path, PATH_ROOT, "/sys/kernel/security/ima/ascii_runtime_measurements", 0),
        PATHOPT(measuredboot_ml_path, PATH_ROOT,
                "/sys/kernel/security/tpm0/binary_bios_measurements", 0),
        /* registrar */
        STR(registrar_ip, "127.0.0.1", 0, kl_cfg_check_address),
        U16(registrar_port, 8890, 1, 65535, 0),
        BOOLOPT(registrar_tls_enabled, false, OPTF_UNSUPPORTED),
        U16(registrar_tls_port, 8891, 1, 65535, 0),
        PATHOPT(registrar_tls_ca_cert, PATH_KEYLIME_DIR, "cv_ca/cacert.crt", 0),
        STR(registrar_api_versions, "default", 0, kl_cfg_check_api_versions),
        U32(exponential_backoff_initial_delay, 10000, 0, UINT32_MAX, 0),
        U32(exponential_backoff_max_retries, 5, 0, UINT32_MAX, 0),
        U32(exponential_backoff_max_delay, 300000, 0, UINT32_MAX, 0),
        /* TLS */
        BOOLOPT(enable_agent_mtls, true, 0),
        PATHOPT(server_key, PATH_KEYLIME_DIR, "server-private.pem", 0),
        STR(server_key_password, "", OPTF_SECRET, NULL),
        STR(certified_server_key, "", 0, NULL), /* beyond upstream: tls_key.c */
        PATHOPT(server_cert, PATH_KEYLIME_DIR, "server-cert.crt", 0),
        STR(trusted_client_ca, "default", 0, check_list),
        BOOLOPT(tls_accept_invalid_certs, false, 0),
        BOOLOPT(tls_accept_invalid_hostnames, false, 0),
        /* payload and keys */
        PATHOPT(payload_key, PATH_KEYLIME_DIR, "payload-private.pem", 0),
        STR(payload_key_password, "", OPTF_SECRET, NULL),
        STR(enc_keyname, "derived_tci_key", 0, check_file_name),
        STR(dec_payload_file, "decrypted_payload", 0, check_file_name),
        STR(secure_size, "1m", 0, check_tmpfs_size),
        BOOLOPT(extract_payload_zip, true, 0),
        STR(payload_script, "autorun.sh", 0, NULL),
        BOOLOPT(enable_insecure_payload, false, 0),
        /* revocation */
        BOOLOPT(enable_revocation_notifications, false, 0),
        STR(revocation_notification_ip, "127.0.0.1", 0, NULL),
        U16(revocation_notification_port, 8992, 1, 65535, 0),
        PATHOPT(revocation_cert, PATH_KEYLIME_DIR,
                "secure/unzipped/RevocationNotifier-cert.crt", 0),
        STR(revocation_actions, "", 0, check_list),
        STR(revocation_actions_dir, "/usr/libexec/keylime", 0, NULL),
        BOOLOPT(allow_payload_revocation_actions, true, 0),
        /* TPM */
        STR(tpm_hash_alg, "sha256", 0, check_hash_alg),
        STR(tpm_encryption_alg, "rsa", 0, check_encryption_alg),
        STR(tpm_signing_alg, "rsassa", 0, check_signing_alg),
        STR(ek_handle, "generate", 0, check_ek_handle),
        STR(tpm_ownerpassword, "", OPTF_SECRET, check_password),
        /* beyond upstream: "" = the TCG platform certificate from NV 0x01c08000 */
        {.name = "platform_cert", .kind = KIND_OF(platform_cert, OPT_STR),
         .offset = offsetof(struct kl_agent_config, platform_cert), .def_str = "",
         .path = PATH_KEYLIME_DIR_OR_EMPTY, .path_default = "platform-cert.der"},
        /* IAK / IDevID */
        BOOLOPT(enable_iak_idevid, false, OPTF_UNSUPPORTED),
        STR(iak_idevid_template, "H-1", 0, NULL),
        STR(iak_idevid_asymmetric_alg, "rsa", 0, NULL),
        STR(iak_idevid_name_alg, "sha256", 0, NULL),
        STR(iak_handle, "", OPTF_UNSUPPORTED, check_handle),
        STR(idevid_handle, "", OPTF_UNSUPPORTED, check_handle),
        STR(iak_password, "", OPTF_SECRET, check_password),
        STR(idevid_password, "", OPTF_SECRET, check_password),
        PATHOPT(iak_cert, PATH_KEYLIME_DIR_OR_EMPTY, "iak-cert.crt", 0),
        PATHOPT(idevid_cert, PATH_KEYLIME_DIR_OR_EMPTY, "idevid-cert.crt", 0),
        /* push model */
        STR(verifier_url, "https://localhost:8881", 0, NULL),
        PATHOPT(verifier_tls_ca_cert, PATH_KEYLIME_DIR, "cv_ca/cacert.crt", 0),
        U32(attestation_interval_seconds, 60, 1, UINT32_MAX, 0),
        STR(certification_keys_server_identifier, "ak", 0, NULL),
        STR(uefi_logs_evidence_version, "2.1", 0, NULL),
};
/* clang-format on */

const size_t kl_cfg_n_opts = ARRAY_SIZE(kl_cfg_options);

/* ---- field access ---- */

char **kl_cfg_field_str(struct kl_agent_config *cfg, const struct opt *o)
{
        return (char **)((char *)cfg + o->offset);
}

char *const *kl_cfg_field_str_c(const struct kl_agent_config *cfg, const struct opt *o)
{
        return (char *const *)((const char *)cfg + o->offset);
}

uint32_t kl_cfg_field_num(const struct kl_agent_config *cfg, const struct opt *o)
{
        const char *base = (const char *)cfg + o->offset;

        switch (o->kind) {
        case OPT_U16:
                return *(const uint16_t *)base;
        case OPT_U32:
                return *(const uint32_t *)base;
        case OPT_BOOL:
                return *(const bool *)base ? 1 : 0;
        case OPT_STR:
                break;
        }
        return 0;
}

void kl_cfg_set_num(struct kl_agent_config *cfg, const struct opt *o, uint32_t v)
{
        char *base = (char *)cfg + o->offset;

        switch (o->kind) {
        case OPT_U16:
                *(uint16_t *)base = (uint16_t)v; /* range-checked by the caller */
                break;
        case OPT_U32:
                *(uint32_t *)base = v;
                break;
        case OPT_BOOL:
                *(bool *)base = v != 0;
                break;
        case OPT_STR:
                break;
        }
}

void kl_cfg_free_str(char *s, bool secret)
{
        if (s != NULL && secret)
                explicit_bzero(s, strlen(s));
        free(s);
}

/* Replaces a string option with a copy of v. */
int kl_cfg_set_str(struct kl_agent_config *cfg, const struct opt *o, const char *v)
{
        char **field = kl_cfg_field_str(cfg, o);
        char *copy = strdup(v);

        if (copy == NULL)
                return KL_ERR_NOMEM;
        kl_cfg_free_str(*field, o->flags & OPTF_SECRET);
        *field = copy;
        return 0;
}

const struct opt *kl_cfg_find_opt(const char *name, size_t *ret_idx)
{
        for (size_t i = 0; i < kl_cfg_n_opts; i++) {
                if (strcmp(kl_cfg_options[i].name, name) == 0) {
                        if (ret_idx != NULL)
                                *ret_idx = i;
                        return &kl_cfg_options[i];
                }
        }
        return NULL;
}

/* ---- validators ---- */

static bool in_set(const char *v, const char *const *set, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (strcmp(v, set[i]) == 0)
                        return true;
        }
        return false;
}

static const char *check_hash_alg(const char *v)
{
        return kl_hash_alg_by_name(v) != NULL ? NULL : "expected " KL_HASH_ALG_NAMES;
}

static const char *check_encryption_alg(const char *v)
{
        /* agent-config.md §4.6, with the tss-esapi aliases. */
        static const char *const algs[] = {
            "rsa",           "rsa1024",       "rsa2048",       "rsa3072",       "rsa4096",
            "ecc",           "ecc192",        "ecc224",        "ecc256",        "ecc384",
            "ecc521",        "ecc_sm2",       "ecc_nist_p192", "ecc_nist_p224", "ecc_nist_p256",
            "ecc_nist_p384", "ecc_nist_p521", "ecc_sm2_p256",
        };

        return in_set(v, algs, ARRAY_SIZE(algs))
                   ? NULL
                   : "expected rsa, rsa1024, rsa2048, rsa3072, rsa4096, ecc, ecc192, "
                     "ecc224, ecc256, ecc384, ecc521, ecc_sm2 (or ecc_nist_p192..p521, "
                     "ecc_sm2_p256)";
}

static const char *check_signing_alg(const char *v)
{
        static const char *const algs[] = {"rsassa", "rsapss", "ecdsa", "ecschnorr"};

        return in_set(v, algs, ARRAY_SIZE(algs)) ? NULL
                                                 : "expected rsassa, rsapss, ecdsa or ecschnorr";
}

static bool is_hex_string(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
                        return false;
        }
        return true;
}

/* A TPM handle in hex, "0x" optional: 1 to 8 hex digits. */
static bool is_tpm_handle(const char *v)
{
        size_t n;

        if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
                v += 2;
        n = strlen(v);
        return n >= 1 && n <= 8 && is_hex_string(v, n);
}

static const char *check_ek_handle(const char *v)
{
        if (v[0] == '\0' || strcmp(v, "generate") == 0 || is_tpm_handle(v))
                return NULL;
        return "expected \"generate\", \"\" or a hex handle such as 0x81010001";
}

static const char *check_handle(const char *v)
{
        if (v[0] == '\0' || is_tpm_handle(v))
                return NULL;
        return "expected \"\" or a hex handle such as 0x81010002";
}

static const char *check_password(const char *v)
{
        size_t n;

        if (strncmp(v, "hex:", 4) != 0)
                return NULL;
        n = strlen(v + 4);
        if (n % 2 == 0 && is_hex_string(v + 4, n))
                return NULL;
        return "a \"hex:\" value needs an even number of hex digits";
}

static const char *check_file_name(const char *v)
{
        if (v[0] == '\0' || strchr(v, '/') != NULL || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
                return "expected a plain file name (no '/')";
        return NULL;
}

/* Passed to mount(2) as "size=...": digits and one optional unit, nothing else. */
static const char *check_tmpfs_size(const char *v)
{
        size_t n = strspn(v, "0123456789");

        if (n > 0 && n <= 12 && (v[n] == '\0' || (strchr("kKmMgG%", v[n]) && v[n + 1] == '\0')))
                return NULL;
        return "expected a tmpfs size such as 1m (digits, then k, m, g or %)";
}

static const char *check_list(const char *v)
{
        char **items = NULL;
        int r = kl_config_parse_list(v, &items, NULL);

        kl_strv_free(items);
        return r == 0 ? NULL : "not a valid list (items separated by commas or spaces)";
}

static bool is_version(const char *s)
{
        size_t a = strspn(s, "0123456789"), b;

        if (a == 0 || a > 4 || s[a] != '.')
                return false;
        b = strspn(s + a + 1, "0123456789");
        return b > 0 && b <= 4 && s[a + 1 + b] == '\0';
}

const char *kl_cfg_check_api_versions(const char *v)
{
        const char *why = NULL;
        char **items = NULL;
        size_t n = 0;

        if (strcmp(v, "default") == 0 || strcmp(v, "latest") == 0)
                return NULL;
        if (kl_config_parse_list(v, &items, &n) < 0)
                return "expected \"default\", \"latest\" or a list of versions like \"2.1, 2.2\"";
        for (size_t i = 0; i < n; i++) {
                if (!is_version(items[i])) {
                        why = "expected \"default\", \"latest\" or a list of versions like "
                              "\"2.1, 2.2\"";
                        break;
                }
        }
        kl_strv_free(items);
        return why;
}

/* IPv4, IPv6 without brackets, or a host name (labels of letters, digits, inner '-'). */
const char *kl_cfg_check_address(const char *v)
{
        struct in6_addr a6;
        struct in_addr a4;
        size_t len = strlen(v), label = 0;
        char prev = '.';

        if (inet_pton(AF_INET, v, &a4) == 1 || inet_pton(AF_INET6, v, &a6) == 1)
                return NULL;
        if (len == 0 || len > 253)
                goto bad;
        for (size_t i = 0; i < len; i++) {
                char c = v[i];

                if (c == '.') {
                        if (prev == '.' || prev == '-')
                                goto bad;
                        label = 0;
                } else if (c == '-') {
                        if (prev == '.')
                                goto bad;
                } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9')) {
                        if (++label > 63)
                                goto bad;
                } else {
                        goto bad;
                }
                prev = c;
        }
        if (prev == '.' || prev == '-')
                goto bad;
        return NULL;
bad:
        return "expected an IPv4 address, an IPv6 address (no brackets) or a host name";
}

/* An empty version list means "all supported", as the Rust agent does (with a warning). */
