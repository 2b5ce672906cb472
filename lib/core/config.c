/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent configuration loader (config.h), following the Rust agent's model
 * (shared/proto/agent-config.md, keylime/rust-keylime keylime/src/config/):
 * built-in defaults, then /usr/etc/keylime/agent.conf and its agent.conf.d/,
 * then /etc/keylime/agent.conf and its agent.conf.d/ (or only
 * $KEYLIME_AGENT_CONFIG), then KEYLIME_AGENT_<OPTION> and KEYLIME_DIR.
 *
 * Every option is described once, in options[] below: its name, its field in
 * struct kl_agent_config (the kind is derived from the field's C type), its
 * default, its range or validator, how it is resolved as a path, and whether
 * a non-default value is something the agent does not implement. Nothing
 * else lists the options.
 *
 * Errors are collected, not stopped at: each bad value is logged once as
 * "SOURCE: option 'NAME': PROBLEM", then the load fails with KL_ERR_CONFIG.
 * Values of secret options (passwords) are never logged, and are wiped when
 * freed; file contents are wiped after parsing for the same reason.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "hash_alg.h"
#include "log.h"
#include "toml.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define DEFAULT_KEYLIME_DIR "/var/lib/keylime"
#define ENV_PREFIX          "KEYLIME_AGENT_"

enum opt_kind {
        OPT_STR,
        OPT_U16,
        OPT_U32,
        OPT_BOOL,
};

/* How a string option is turned into a path once all sources are merged. */
enum opt_path {
        PATH_NONE,
        PATH_KEYLIME_DIR,          /* "default"/"" -> keylime_dir/<rel>; relative -> keylime_dir */
        PATH_KEYLIME_DIR_OR_EMPTY, /* the same, but "" stays "" (= none) */
        PATH_ROOT,                 /* "default"/"" -> <abs default>; relative -> "/" */
};

#define OPTF_SECRET       0x1u /* never logged; wiped when freed */
#define OPTF_UNSUPPORTED  0x2u /* a non-default value asks for something not implemented */
#define OPTF_ROOT_DEFAULT 0x4u /* the default applies only when euid is 0, else "" */
#define OPTF_NOT_YET      0x8u /* its feature is not implemented yet: reported at every start */

/* Returns NULL if value is acceptable, else what was expected. */
typedef const char *(*opt_check_fn)(const char *value);

struct opt {
        const char *name;
        enum opt_kind kind;
        size_t offset;
        const char *def_str; /* OPT_STR */
        uint32_t def_num;    /* OPT_U16, OPT_U32, OPT_BOOL */
        uint32_t min, max;   /* integers */
        enum opt_path path;
        const char *path_default;
        unsigned flags;
        opt_check_fn check;
};

static const char *check_api_versions(const char *v);
static const char *check_list(const char *v);
static const char *check_address(const char *v);
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
static const struct opt options[] = {
        /* general / identity */
        STR(version, "2.0", 0, NULL),
        STR(api_versions, "default", 0, check_api_versions),
        STR(uuid, "d432fbb3-d2f1-4a97-9ef7-75bd81c00000", 0, NULL),
        STR(ip, "127.0.0.1", 0, check_address),
        U16(port, 9002, 1, 65535, 0),
        STR(contact_ip, "127.0.0.1", 0, check_address),
        U16(contact_port, 9002, 1, 65535, 0),
        STR(keylime_dir, DEFAULT_KEYLIME_DIR, 0, NULL),
        PATHOPT(agent_data_path, PATH_KEYLIME_DIR, "agent_data.json", 0),
        STR(run_as, "keylime:tss", OPTF_ROOT_DEFAULT, NULL),
        PATHOPT(ima_ml_path, PATH_ROOT, "/sys/kernel/security/ima/ascii_runtime_measurements", 0),
        PATHOPT(measuredboot_ml_path, PATH_ROOT,
                "/sys/kernel/security/tpm0/binary_bios_measurements", 0),
        /* registrar */
        STR(registrar_ip, "127.0.0.1", 0, check_address),
        U16(registrar_port, 8890, 1, 65535, 0),
        BOOLOPT(registrar_tls_enabled, false, OPTF_UNSUPPORTED),
        U16(registrar_tls_port, 8891, 1, 65535, 0),
        PATHOPT(registrar_tls_ca_cert, PATH_KEYLIME_DIR, "cv_ca/cacert.crt", 0),
        STR(registrar_api_versions, "default", 0, check_api_versions),
        U32(exponential_backoff_initial_delay, 10000, 0, UINT32_MAX, 0),
        U32(exponential_backoff_max_retries, 5, 0, UINT32_MAX, 0),
        U32(exponential_backoff_max_delay, 300000, 0, UINT32_MAX, 0),
        /* TLS */
        BOOLOPT(enable_agent_mtls, true, 0),
        PATHOPT(server_key, PATH_KEYLIME_DIR, "server-private.pem", 0),
        STR(server_key_password, "", OPTF_SECRET, NULL),
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

#define N_OPTS ARRAY_SIZE(options)

enum origin_kind {
        ORIGIN_DEFAULT,
        ORIGIN_FILE,
        ORIGIN_ENV,
        ORIGIN_KEYLIME_DIR,
};

struct origin {
        enum origin_kind kind;
        const char *file; /* points into cfg->sources[] */
        unsigned line;
};

struct load_ctx {
        struct kl_agent_config *cfg;
        struct origin origin[N_OPTS];
        const char *file; /* the file being parsed, in cfg->sources[] */
        bool failed;      /* a value was rejected; go on to report the rest */
};

/* ---- field access ---- */

static char **field_str(struct kl_agent_config *cfg, const struct opt *o)
{
        return (char **)((char *)cfg + o->offset);
}

static char *const *field_str_c(const struct kl_agent_config *cfg, const struct opt *o)
{
        return (char *const *)((const char *)cfg + o->offset);
}

static uint32_t field_num(const struct kl_agent_config *cfg, const struct opt *o)
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

static void set_num(struct kl_agent_config *cfg, const struct opt *o, uint32_t v)
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

static void free_str(char *s, bool secret)
{
        if (s != NULL && secret)
                explicit_bzero(s, strlen(s));
        free(s);
}

/* Replaces a string option with a copy of v. */
static int set_str(struct kl_agent_config *cfg, const struct opt *o, const char *v)
{
        char **field = field_str(cfg, o);
        char *copy = strdup(v);

        if (copy == NULL)
                return KL_ERR_NOMEM;
        free_str(*field, o->flags & OPTF_SECRET);
        *field = copy;
        return 0;
}

static const struct opt *find_opt(const char *name, size_t *ret_idx)
{
        for (size_t i = 0; i < N_OPTS; i++) {
                if (strcmp(options[i].name, name) == 0) {
                        if (ret_idx != NULL)
                                *ret_idx = i;
                        return &options[i];
                }
        }
        return NULL;
}

/* "KEYLIME_AGENT_" + upper-case option name. */
static int env_name(const struct opt *o, char *buf, size_t len)
{
        size_t plen = strlen(ENV_PREFIX), nlen = strlen(o->name);

        if (plen + nlen + 1 > len)
                return KL_ERR_TOO_LONG;
        memcpy(buf, ENV_PREFIX, plen);
        for (size_t i = 0; i < nlen; i++) {
                char c = o->name[i];

                if (c >= 'a' && c <= 'z')
                        c = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[c - 'a'];
                buf[plen + i] = c;
        }
        buf[plen + nlen] = '\0';
        return 0;
}

static void describe_origin(const struct load_ctx *ctx, size_t idx, char *buf, size_t len)
{
        const struct origin *org = &ctx->origin[idx];
        char var[96];
        int n;

        switch (org->kind) {
        case ORIGIN_FILE:
                n = snprintf(buf, len, "%s:%u", org->file, org->line);
                break;
        case ORIGIN_ENV:
                if (env_name(&options[idx], var, sizeof(var)) < 0)
                        var[0] = '\0';
                n = snprintf(buf, len, "environment variable %s", var);
                break;
        case ORIGIN_KEYLIME_DIR:
                n = snprintf(buf, len, "environment variable KEYLIME_DIR");
                break;
        default:
                n = snprintf(buf, len, "built-in default");
                break;
        }
        (void)n; /* a truncated description is still useful */
}

static void reject(struct load_ctx *ctx, size_t idx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Logs "SOURCE: option 'NAME': PROBLEM" and marks the load as failed. */
static void reject(struct load_ctx *ctx, size_t idx, const char *fmt, ...)
{
        char where[PATH_MAX + 64];
        char msg[512];
        va_list ap;

        describe_origin(ctx, idx, where, sizeof(where));
        va_start(ap, fmt);
        if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
                msg[0] = '\0';
        va_end(ap);
        log_error("%s: option '%s': %s", where, options[idx].name, msg);
        ctx->failed = true;
}

static void range_text(const struct opt *o, char *buf, size_t len)
{
        (void)snprintf(buf, len, "expected an integer in %u..%u", o->min, o->max);
}

/* ---- one value from a file or the environment ---- */

static int apply_toml(struct load_ctx *ctx, size_t idx, const struct kl_toml_value *v)
{
        const struct opt *o = &options[idx];
        char expect[64];

        switch (o->kind) {
        case OPT_STR:
                if (v->type != KL_TOML_STRING) {
                        reject(ctx, idx, "expected a string");
                        return 0;
                }
                return set_str(ctx->cfg, o, v->u.str.ptr);
        case OPT_BOOL:
                if (v->type != KL_TOML_BOOL) {
                        reject(ctx, idx, "expected true or false");
                        return 0;
                }
                set_num(ctx->cfg, o, v->u.b ? 1 : 0);
                return 0;
        case OPT_U16:
        case OPT_U32:
                if (v->type != KL_TOML_INT || v->u.i < (int64_t)o->min ||
                    v->u.i > (int64_t)o->max) {
                        range_text(o, expect, sizeof(expect));
                        reject(ctx, idx, "%s", expect);
                        return 0;
                }
                set_num(ctx->cfg, o, (uint32_t)v->u.i);
                return 0;
        }
        return KL_ERR_INTERNAL;
}

static bool parse_u32(const char *s, uint32_t *ret)
{
        unsigned long long v;
        char *end = NULL;

        if (s[0] < '0' || s[0] > '9')
                return false; /* no sign, no spaces */
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v > UINT32_MAX)
                return false;
        *ret = (uint32_t)v;
        return true;
}

static int apply_env(struct load_ctx *ctx, size_t idx, const char *s)
{
        const struct opt *o = &options[idx];
        char expect[64];
        uint32_t v;

        switch (o->kind) {
        case OPT_STR:
                return set_str(ctx->cfg, o, s);
        case OPT_BOOL:
                if (strcasecmp(s, "true") == 0) {
                        set_num(ctx->cfg, o, 1);
                } else if (strcasecmp(s, "false") == 0) {
                        set_num(ctx->cfg, o, 0);
                } else {
                        reject(ctx, idx, "expected true or false, not '%.32s'", s);
                }
                return 0;
        case OPT_U16:
        case OPT_U32:
                if (!parse_u32(s, &v) || v < o->min || v > o->max) {
                        range_text(o, expect, sizeof(expect));
                        reject(ctx, idx, "%s, not '%.32s'", expect, s);
                        return 0;
                }
                set_num(ctx->cfg, o, v);
                return 0;
        }
        return KL_ERR_INTERNAL;
}

/* ---- files ---- */

static int toml_cb(void *vctx, const char *table, const char *key,
                   const struct kl_toml_value *value, unsigned line)
{
        struct load_ctx *ctx = vctx;
        size_t idx;
        int r;

        if (strcmp(table, "agent") != 0) {
                if (table[0] == '\0')
                        log_warn("ignoring '%.64s' outside the [agent] table (%s:%u)", key,
                                 ctx->file, line);
                else
                        log_warn("ignoring '%.64s' in table [%.64s]; only [agent] is read "
                                 "(%s:%u)",
                                 key, table, ctx->file, line);
                return 0;
        }
        if (find_opt(key, &idx) == NULL) {
                log_warn("ignoring unknown option '%.64s' (%s:%u)", key, ctx->file, line);
                return 0;
        }
        ctx->origin[idx] = (struct origin){.kind = ORIGIN_FILE, .file = ctx->file, .line = line};
        if ((r = apply_toml(ctx, idx, value)) < 0)
                return r;
        return 0;
}

/*
 * Reads a whole regular file of at most KL_TOML_MAX_INPUT bytes. A missing
 * file is KL_ERR_NOT_FOUND (not logged); other failures are logged.
 */
static int read_file(const char *path, char **ret_buf, size_t *ret_len)
{
        char *buf = NULL;
        size_t len = 0;
        struct stat st;
        int fd = -1, r = KL_ERR_CONFIG;

        if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
                if (errno == ENOENT) {
                        r = KL_ERR_NOT_FOUND;
                        goto out;
                }
                log_error("cannot open configuration file %s: %s", path, strerror(errno));
                goto out;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                log_error("configuration file %s is not a regular file", path);
                goto out;
        }
        /* One byte more than allowed, to notice a file that grew past the cap. */
        if ((buf = malloc(KL_TOML_MAX_INPUT + 1)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        for (;;) {
                ssize_t n = read(fd, buf + len, KL_TOML_MAX_INPUT + 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        log_error("cannot read configuration file %s: %s", path, strerror(errno));
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > KL_TOML_MAX_INPUT) {
                        log_error("configuration file %s is larger than %u bytes", path,
                                  KL_TOML_MAX_INPUT);
                        goto out;
                }
        }
        *ret_buf = buf;
        *ret_len = len;
        buf = NULL;
        r = 0;
out:
        if (buf != NULL) {
                explicit_bzero(buf, len);
                free(buf);
        }
        if (fd >= 0)
                close(fd);
        return r;
}

/* Parses one file if it exists; records it in cfg->sources. */
static int load_file(struct load_ctx *ctx, const char *path, bool must_exist)
{
        struct kl_agent_config *cfg = ctx->cfg;
        char errbuf[256];
        char *buf = NULL, *copy = NULL;
        size_t len = 0;
        int r;

        r = read_file(path, &buf, &len);
        if (r == KL_ERR_NOT_FOUND && !must_exist) {
                log_debug("no configuration file %s", path);
                r = 0;
                goto out;
        }
        if (r == KL_ERR_NOT_FOUND) {
                log_error("KEYLIME_AGENT_CONFIG: configuration file %s does not exist", path);
                r = KL_ERR_CONFIG;
                goto out;
        }
        if (r < 0)
                goto out;
        if (cfg->n_sources >= KL_CONFIG_MAX_SOURCES) {
                log_error("too many configuration files (more than %d); not reading %s",
                          KL_CONFIG_MAX_SOURCES, path);
                r = KL_ERR_CONFIG;
                goto out;
        }
        if ((copy = strdup(path)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        cfg->sources[cfg->n_sources++] = copy;
        ctx->file = copy;
        copy = NULL;
        log_debug("reading configuration file %s", path);
        r = kl_toml_parse(buf, len, toml_cb, ctx, errbuf, sizeof(errbuf));
        if (r == KL_ERR_INVAL) {
                log_error("%s:%s", path, errbuf);
                r = KL_ERR_CONFIG;
        }
out:
        ctx->file = NULL;
        free(copy);
        if (buf != NULL) {
                explicit_bzero(buf, len); /* may hold passwords */
                free(buf);
        }
        return r;
}

static int join_path(const char *a, const char *b, char *buf, size_t len)
{
        size_t la = strlen(a);
        int n;

        while (la > 0 && a[la - 1] == '/')
                la--;
        n = snprintf(buf, len, "%.*s/%s", (int)la, a, b);
        if (n < 0 || (size_t)n >= len)
                return KL_ERR_TOO_LONG;
        return 0;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every non-hidden regular file in dir, in byte-wise lexicographic order. */
static int load_dropins(struct load_ctx *ctx, const char *dir)
{
        char **names = NULL;
        size_t n = 0, cap = 0;
        char path[PATH_MAX];
        struct dirent *e;
        struct stat st;
        DIR *d = NULL;
        int r = 0;

        if ((d = opendir(dir)) == NULL) {
                if (errno == ENOENT || errno == ENOTDIR)
                        goto out;
                log_error("cannot read configuration directory %s: %s", dir, strerror(errno));
                r = KL_ERR_CONFIG;
                goto out;
        }
        while ((e = readdir(d)) != NULL) {
                char *name;

                if (e->d_name[0] == '.')
                        continue;
                if (n >= KL_CONFIG_MAX_SOURCES) {
                        log_error("too many files in %s (more than %d)", dir,
                                  KL_CONFIG_MAX_SOURCES);
                        r = KL_ERR_CONFIG;
                        goto out;
                }
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 8;
                        char **t = reallocarray(names, ncap, sizeof(*t));

                        if (t == NULL) {
                                r = KL_ERR_NOMEM;
                                goto out;
                        }
                        names = t;
                        cap = ncap;
                }
                if ((name = strdup(e->d_name)) == NULL) {
                        r = KL_ERR_NOMEM;
                        goto out;
                }
                names[n++] = name;
        }
        if (n > 1)
                qsort(names, n, sizeof(*names), cmp_names);
        for (size_t i = 0; i < n; i++) {
                if (join_path(dir, names[i], path, sizeof(path)) < 0) {
                        log_error("configuration path too long: %s/%s", dir, names[i]);
                        r = KL_ERR_CONFIG;
                        goto out;
                }
                if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                        log_debug("skipping %s: not a regular file", path);
                        continue;
                }
                if ((r = load_file(ctx, path, false)) < 0)
                        goto out;
        }
out:
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        if (d != NULL)
                closedir(d);
        return r;
}

static int load_system_files(struct load_ctx *ctx, const char *root)
{
        static const char *const bases[] = {"/usr/etc/keylime", "/etc/keylime"};
        char base[PATH_MAX], path[PATH_MAX];
        int r, n;

        for (size_t i = 0; i < ARRAY_SIZE(bases); i++) {
                n = snprintf(base, sizeof(base), "%s%s", root, bases[i]);
                if (n < 0 || (size_t)n >= sizeof(base)) {
                        log_error("configuration root too long: %s", root);
                        return KL_ERR_CONFIG;
                }
                if (join_path(base, "agent.conf", path, sizeof(path)) < 0)
                        return KL_ERR_CONFIG;
                if ((r = load_file(ctx, path, false)) < 0)
                        return r;
                if (join_path(base, "agent.conf.d", path, sizeof(path)) < 0)
                        return KL_ERR_CONFIG;
                if ((r = load_dropins(ctx, path)) < 0)
                        return r;
        }
        return 0;
}

static int load_env(struct load_ctx *ctx)
{
        char var[96];
        const char *s;
        size_t idx;
        int r;

        for (size_t i = 0; i < N_OPTS; i++) {
                if (env_name(&options[i], var, sizeof(var)) < 0)
                        return KL_ERR_INTERNAL;
                if ((s = secure_getenv(var)) == NULL)
                        continue;
                ctx->origin[i] = (struct origin){.kind = ORIGIN_ENV};
                if ((r = apply_env(ctx, i, s)) < 0)
                        return r;
        }
        s = secure_getenv("KEYLIME_DIR");
        if (s != NULL && s[0] != '\0') {
                if (find_opt("keylime_dir", &idx) == NULL)
                        return KL_ERR_INTERNAL;
                ctx->origin[idx] = (struct origin){.kind = ORIGIN_KEYLIME_DIR};
                if ((r = set_str(ctx->cfg, &options[idx], s)) < 0)
                        return r;
        }
        return 0;
}

/* ---- after merging: keywords, paths, validation ---- */

static int resolve_keylime_dir(struct load_ctx *ctx)
{
        size_t idx;
        const struct opt *o = find_opt("keylime_dir", &idx);
        char **dir;
        size_t len;

        if (o == NULL)
                return KL_ERR_INTERNAL;
        dir = field_str(ctx->cfg, o);
        if ((*dir)[0] == '\0')
                return set_str(ctx->cfg, o, DEFAULT_KEYLIME_DIR); /* as the Rust agent */
        if ((*dir)[0] != '/') {
                reject(ctx, idx, "'%.200s' is not an absolute path", *dir);
                return 0;
        }
        len = strlen(*dir);
        while (len > 1 && (*dir)[len - 1] == '/')
                (*dir)[--len] = '\0';
        return 0;
}

static int resolve_path(struct load_ctx *ctx, size_t idx, const char *keylime_dir)
{
        const struct opt *o = &options[idx];
        char *v = *field_str(ctx->cfg, o);
        char buf[PATH_MAX], where[PATH_MAX + 64];
        const char *rel;
        int r;

        if (strcmp(v, "default") == 0 || v[0] == '\0') {
                if (v[0] == '\0' && o->path == PATH_KEYLIME_DIR_OR_EMPTY)
                        return 0; /* "" means none */
                if (v[0] == '\0') {
                        describe_origin(ctx, idx, where, sizeof(where));
                        log_warn("option '%s' is empty; using the default (%s)", o->name, where);
                }
                if (o->path == PATH_ROOT)
                        return set_str(ctx->cfg, o, o->path_default);
                rel = o->path_default;
        } else if (v[0] == '/') {
                return 0;
        } else {
                rel = v;
        }
        if (join_path(o->path == PATH_ROOT ? "/" : keylime_dir, rel, buf, sizeof(buf)) < 0) {
                reject(ctx, idx, "path too long");
                return 0;
        }
        if ((r = set_str(ctx->cfg, o, buf)) < 0)
                return r;
        return 0;
}

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

static const char *check_api_versions(const char *v)
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
static const char *check_address(const char *v)
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
static int fix_empty_versions(struct load_ctx *ctx, size_t idx)
{
        const struct opt *o = &options[idx];
        char **items = NULL;
        size_t n = 0;
        int r;

        if ((r = kl_config_parse_list(*field_str(ctx->cfg, o), &items, &n)) < 0)
                return r == KL_ERR_NOMEM ? r : 0; /* reported by the validator */
        kl_strv_free(items);
        if (n > 0)
                return 0;
        log_warn("option '%s' lists no version; using \"default\"", o->name);
        return set_str(ctx->cfg, o, "default");
}

static int finish(struct load_ctx *ctx)
{
        struct kl_agent_config *cfg = ctx->cfg;
        const char *why;
        size_t idx;
        int r;

        if ((r = resolve_keylime_dir(ctx)) < 0)
                return r;

        /* Rust checks these before resolving revocation_cert ("" would become the default). */
        if (cfg->enable_revocation_notifications) {
                static const char *const needed[] = {"revocation_notification_ip",
                                                     "revocation_cert", "revocation_actions_dir"};

                for (size_t i = 0; i < ARRAY_SIZE(needed); i++) {
                        if (find_opt(needed[i], &idx) == NULL)
                                return KL_ERR_INTERNAL;
                        if ((*field_str(cfg, &options[idx]))[0] == '\0')
                                reject(ctx, idx,
                                       "must not be empty when enable_revocation_notifications "
                                       "is true");
                }
        }
        if (cfg->revocation_notification_ip[0] != '\0' &&
            (why = check_address(cfg->revocation_notification_ip)) != NULL &&
            find_opt("revocation_notification_ip", &idx) != NULL)
                reject(ctx, idx, "invalid value '%.100s' (%s)", cfg->revocation_notification_ip,
                       why);

        for (size_t i = 0; i < N_OPTS; i++) {
                const struct opt *o = &options[i];
                const char *v;

                if (o->kind != OPT_STR)
                        continue;
                if (o->check == check_api_versions && (r = fix_empty_versions(ctx, i)) < 0)
                        return r;
                v = *field_str(cfg, o);
                if (o->check != NULL && (why = o->check(v)) != NULL) {
                        if (o->flags & OPTF_SECRET)
                                reject(ctx, i, "invalid value (%s)", why);
                        else
                                reject(ctx, i, "invalid value '%.100s' (%s)", v, why);
                }
                if (o->path != PATH_NONE && !ctx->failed &&
                    (r = resolve_path(ctx, i, cfg->keylime_dir)) < 0)
                        return r;
        }
        return 0;
}

static int set_defaults(struct kl_agent_config *cfg)
{
        bool root = geteuid() == 0;
        int r;

        for (size_t i = 0; i < N_OPTS; i++) {
                const struct opt *o = &options[i];

                if (o->kind != OPT_STR) {
                        set_num(cfg, o, o->def_num);
                        continue;
                }
                if ((r = set_str(cfg, o,
                                 (o->flags & OPTF_ROOT_DEFAULT) && !root ? "" : o->def_str)) < 0)
                        return r;
        }
        return 0;
}

int kl_agent_config_load(const char *root, struct kl_agent_config **ret_cfg)
{
        struct kl_agent_config *cfg = NULL;
        struct load_ctx *ctx = NULL;
        const char *single;
        int r = KL_ERR_NOMEM;

        if (ret_cfg == NULL)
                return KL_ERR_INVAL;
        if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
                goto out;
        if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
                goto out;
        ctx->cfg = cfg;
        if ((r = set_defaults(cfg)) < 0)
                goto out;

        single = secure_getenv("KEYLIME_AGENT_CONFIG");
        if (single != NULL && single[0] != '\0')
                r = load_file(ctx, single, true);
        else
                r = load_system_files(ctx, root != NULL ? root : "");
        if (r < 0)
                goto out;
        if ((r = load_env(ctx)) < 0)
                goto out;
        if ((r = finish(ctx)) < 0)
                goto out;
        if (ctx->failed) {
                r = KL_ERR_CONFIG;
                goto out;
        }
        *ret_cfg = cfg;
        cfg = NULL;
        r = 0;
out:
        if (r == KL_ERR_NOMEM)
                log_error("configuration: %s", kl_err_str(r));
        else if (r < 0 && r != KL_ERR_CONFIG)
                r = KL_ERR_CONFIG;
        kl_agent_config_free(cfg);
        free(ctx);
        return r;
}

void kl_agent_config_free(struct kl_agent_config *cfg)
{
        if (cfg == NULL)
                return;
        for (size_t i = 0; i < N_OPTS; i++) {
                if (options[i].kind == OPT_STR)
                        free_str(*field_str(cfg, &options[i]), options[i].flags & OPTF_SECRET);
        }
        for (size_t i = 0; i < cfg->n_sources && i < KL_CONFIG_MAX_SOURCES; i++)
                free(cfg->sources[i]);
        explicit_bzero(cfg, sizeof(*cfg));
        free(cfg);
}

size_t kl_agent_config_unsupported(const struct kl_agent_config *cfg, const char **ret_names,
                                   size_t max)
{
        size_t n = 0;

        if (cfg == NULL || ret_names == NULL)
                return 0;
        for (size_t i = 0; i < N_OPTS && n < max; i++) {
                const struct opt *o = &options[i];
                bool changed;

                if (o->flags & OPTF_NOT_YET) {
                        ret_names[n++] = o->name;
                        continue;
                }
                if (!(o->flags & OPTF_UNSUPPORTED))
                        continue;
                if (o->kind == OPT_STR)
                        changed = strcmp(*field_str_c(cfg, o), o->def_str) != 0;
                else
                        changed = field_num(cfg, o) != o->def_num;
                if (changed)
                        ret_names[n++] = o->name;
        }
        if (n < max)
                ret_names[n] = NULL;
        return n;
}

/* The table as documentation (keylime-agent.conf(5) is generated from it). */
bool kl_agent_config_option(size_t i, struct kl_agent_config_option *ret)
{
        static const char *const kinds[] = {
            [OPT_STR] = "string",
            [OPT_U16] = "integer",
            [OPT_U32] = "integer",
            [OPT_BOOL] = "boolean",
        };
        const struct opt *o;

        if (i >= N_OPTS)
                return false;
        o = &options[i];
        *ret = (struct kl_agent_config_option){
            .name = o->name,
            .type = kinds[o->kind],
            .def_str = o->kind == OPT_STR ? o->def_str : NULL,
            .def_num = o->def_num,
            .min = o->min,
            .max = o->max,
            .path_default = o->path_default,
            .path_relative = o->path == PATH_KEYLIME_DIR || o->path == PATH_KEYLIME_DIR_OR_EMPTY,
            .secret = (o->flags & OPTF_SECRET) != 0,
            .unsupported = (o->flags & (OPTF_UNSUPPORTED | OPTF_NOT_YET)) != 0,
            .root_only_default = (o->flags & OPTF_ROOT_DEFAULT) != 0,
        };
        return true;
}

/* ---- Keylime list syntax ---- */

static bool is_list_sep(char c)
{
        return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int strv_push(char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
        char *item;

        if (*n + 1 >= *cap) {
                size_t ncap = *cap ? *cap * 2 : 8;
                char **t = reallocarray(*v, ncap, sizeof(*t));

                if (t == NULL)
                        return KL_ERR_NOMEM;
                *v = t;
                *cap = ncap;
        }
        if ((item = strndup(s, len)) == NULL)
                return KL_ERR_NOMEM;
        (*v)[(*n)++] = item;
        (*v)[*n] = NULL;
        return 0;
}

/*
 * Unlike the Rust list parser, quotes around an item are removed (Rust keeps
 * them, which makes quoted paths unusable), so Python-era values such as
 * ['default'] also work. An unterminated quote is an error.
 */
int kl_config_parse_list(const char *s, char ***ret_items, size_t *ret_n)
{
        const char *p, *end;
        char **v = NULL;
        size_t n = 0, cap = 0;
        int r;

        if (s == NULL || ret_items == NULL)
                return KL_ERR_INVAL;
        p = s;
        end = s + strlen(s);
        while (p < end && is_list_sep(*p) && *p != ',')
                p++;
        while (end > p && is_list_sep(end[-1]) && end[-1] != ',')
                end--;
        if (end - p >= 2 && p[0] == '[' && end[-1] == ']') {
                p++;
                end--;
        }
        if ((v = calloc(1, sizeof(*v))) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        cap = 1;
        for (;;) {
                const char *start;

                while (p < end && is_list_sep(*p))
                        p++;
                if (p == end)
                        break;
                if (*p == '\'' || *p == '"') {
                        const char *close = memchr(p + 1, *p, (size_t)(end - p - 1));

                        if (close == NULL || (close + 1 < end && !is_list_sep(close[1]))) {
                                r = KL_ERR_INVAL;
                                goto out;
                        }
                        start = p + 1;
                        p = close + 1;
                        if (close > start &&
                            (r = strv_push(&v, &n, &cap, start, (size_t)(close - start))) < 0)
                                goto out;
                        continue;
                }
                start = p;
                while (p < end && !is_list_sep(*p))
                        p++;
                if ((r = strv_push(&v, &n, &cap, start, (size_t)(p - start))) < 0)
                        goto out;
        }
        *ret_items = v;
        if (ret_n != NULL)
                *ret_n = n;
        v = NULL;
        r = 0;
out:
        kl_strv_free(v);
        return r;
}

void kl_strv_free(char **v)
{
        if (v == NULL)
                return;
        for (char **p = v; *p != NULL; p++)
                free(*p);
        free(v);
}
