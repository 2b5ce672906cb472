/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent configuration loader (config.h), following the Rust agent's model
 * (shared/proto/agent-config.md, keylime/rust-keylime keylime/src/config/):
 * built-in defaults, then /usr/etc/keylime/agent.conf and its agent.conf.d/,
 * then /etc/keylime/agent.conf and its agent.conf.d/ (or only
 * $KEYLIME_AGENT_CONFIG), then KEYLIME_AGENT_<OPTION> and KEYLIME_DIR.
 *
 * Every option is described once, in config_options.c; this file merges the
 * sources over that table, resolves paths and validates the result: one
 * job (where each value came from is needed until the last error message),
 * so it stays one file past 600 lines.
 *
 * Errors are collected, not stopped at: each bad value is logged once as
 * "SOURCE: option 'NAME': PROBLEM", then the load fails with KL_ERR_CONFIG.
 * Values of secret options (passwords) are never logged, and are wiped when
 * freed; file contents are wiped after parsing for the same reason.
 */
#include "config.h"

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

#include "config_options.h"
#include "err.h"
#include "log.h"
#include "toml.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ENV_PREFIX "KEYLIME_AGENT_"

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
        struct origin *origin; /* one per option, as kl_cfg_options[] */
        const char *file;      /* the file being parsed, in cfg->sources[] */
        bool failed;           /* a value was rejected; go on to report the rest */
};

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
                if (env_name(&kl_cfg_options[idx], var, sizeof(var)) < 0)
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
        log_error("%s: option '%s': %s", where, kl_cfg_options[idx].name, msg);
        ctx->failed = true;
}

static void range_text(const struct opt *o, char *buf, size_t len)
{
        (void)snprintf(buf, len, "expected an integer in %u..%u", o->min, o->max);
}

/* ---- one value from a file or the environment ---- */

static int apply_toml(struct load_ctx *ctx, size_t idx, const struct kl_toml_value *v)
{
        const struct opt *o = &kl_cfg_options[idx];
        char expect[64];

        switch (o->kind) {
        case OPT_STR:
                if (v->type != KL_TOML_STRING) {
                        reject(ctx, idx, "expected a string");
                        return 0;
                }
                return kl_cfg_set_str(ctx->cfg, o, v->u.str.ptr);
        case OPT_BOOL:
                if (v->type != KL_TOML_BOOL) {
                        reject(ctx, idx, "expected true or false");
                        return 0;
                }
                kl_cfg_set_num(ctx->cfg, o, v->u.b ? 1 : 0);
                return 0;
        case OPT_U16:
        case OPT_U32:
                if (v->type != KL_TOML_INT || v->u.i < (int64_t)o->min ||
                    v->u.i > (int64_t)o->max) {
                        range_text(o, expect, sizeof(expect));
                        reject(ctx, idx, "%s", expect);
                        return 0;
                }
                kl_cfg_set_num(ctx->cfg, o, (uint32_t)v->u.i);
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
        const struct opt *o = &kl_cfg_options[idx];
        char expect[64];
        uint32_t v;

        switch (o->kind) {
        case OPT_STR:
                return kl_cfg_set_str(ctx->cfg, o, s);
        case OPT_BOOL:
                if (strcasecmp(s, "true") == 0) {
                        kl_cfg_set_num(ctx->cfg, o, 1);
                } else if (strcasecmp(s, "false") == 0) {
                        kl_cfg_set_num(ctx->cfg, o, 0);
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
                kl_cfg_set_num(ctx->cfg, o, v);
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
        if (kl_cfg_find_opt(key, &idx) == NULL) {
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

        for (size_t i = 0; i < kl_cfg_n_opts; i++) {
                if (env_name(&kl_cfg_options[i], var, sizeof(var)) < 0)
                        return KL_ERR_INTERNAL;
                if ((s = secure_getenv(var)) == NULL)
                        continue;
                ctx->origin[i] = (struct origin){.kind = ORIGIN_ENV};
                if ((r = apply_env(ctx, i, s)) < 0)
                        return r;
        }
        s = secure_getenv("KEYLIME_DIR");
        if (s != NULL && s[0] != '\0') {
                if (kl_cfg_find_opt("keylime_dir", &idx) == NULL)
                        return KL_ERR_INTERNAL;
                ctx->origin[idx] = (struct origin){.kind = ORIGIN_KEYLIME_DIR};
                if ((r = kl_cfg_set_str(ctx->cfg, &kl_cfg_options[idx], s)) < 0)
                        return r;
        }
        return 0;
}

/* ---- after merging: keywords, paths, validation ---- */

static int resolve_keylime_dir(struct load_ctx *ctx)
{
        size_t idx;
        const struct opt *o = kl_cfg_find_opt("keylime_dir", &idx);
        char **dir;
        size_t len;

        if (o == NULL)
                return KL_ERR_INTERNAL;
        dir = kl_cfg_field_str(ctx->cfg, o);
        if ((*dir)[0] == '\0')
                return kl_cfg_set_str(ctx->cfg, o, DEFAULT_KEYLIME_DIR); /* as the Rust agent */
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
        const struct opt *o = &kl_cfg_options[idx];
        char *v = *kl_cfg_field_str(ctx->cfg, o);
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
                        return kl_cfg_set_str(ctx->cfg, o, o->path_default);
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
        if ((r = kl_cfg_set_str(ctx->cfg, o, buf)) < 0)
                return r;
        return 0;
}

static int fix_empty_versions(struct load_ctx *ctx, size_t idx)
{
        const struct opt *o = &kl_cfg_options[idx];
        char **items = NULL;
        size_t n = 0;
        int r;

        if ((r = kl_config_parse_list(*kl_cfg_field_str(ctx->cfg, o), &items, &n)) < 0)
                return r == KL_ERR_NOMEM ? r : 0; /* reported by the validator */
        kl_strv_free(items);
        if (n > 0)
                return 0;
        log_warn("option '%s' lists no version; using \"default\"", o->name);
        return kl_cfg_set_str(ctx->cfg, o, "default");
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
                        if (kl_cfg_find_opt(needed[i], &idx) == NULL)
                                return KL_ERR_INTERNAL;
                        if ((*kl_cfg_field_str(cfg, &kl_cfg_options[idx]))[0] == '\0')
                                reject(ctx, idx,
                                       "must not be empty when enable_revocation_notifications "
                                       "is true");
                }
        }
        if (cfg->revocation_notification_ip[0] != '\0' &&
            (why = kl_cfg_check_address(cfg->revocation_notification_ip)) != NULL &&
            kl_cfg_find_opt("revocation_notification_ip", &idx) != NULL)
                reject(ctx, idx, "invalid value '%.100s' (%s)", cfg->revocation_notification_ip,
                       why);

        for (size_t i = 0; i < kl_cfg_n_opts; i++) {
                const struct opt *o = &kl_cfg_options[i];
                const char *v;

                if (o->kind != OPT_STR)
                        continue;
                if (o->check == kl_cfg_check_api_versions && (r = fix_empty_versions(ctx, i)) < 0)
                        return r;
                v = *kl_cfg_field_str(cfg, o);
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

        for (size_t i = 0; i < kl_cfg_n_opts; i++) {
                const struct opt *o = &kl_cfg_options[i];

                if (o->kind != OPT_STR) {
                        kl_cfg_set_num(cfg, o, o->def_num);
                        continue;
                }
                if ((r = kl_cfg_set_str(
                         cfg, o, (o->flags & OPTF_ROOT_DEFAULT) && !root ? "" : o->def_str)) < 0)
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
        if ((ctx = calloc(1, sizeof(*ctx))) == NULL ||
            (ctx->origin = calloc(kl_cfg_n_opts, sizeof(*ctx->origin))) == NULL)
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
        if (ctx != NULL)
                free(ctx->origin);
        free(ctx);
        return r;
}

void kl_agent_config_free(struct kl_agent_config *cfg)
{
        if (cfg == NULL)
                return;
        for (size_t i = 0; i < kl_cfg_n_opts; i++) {
                if (kl_cfg_options[i].kind == OPT_STR)
                        kl_cfg_free_str(*kl_cfg_field_str(cfg, &kl_cfg_options[i]),
                                        kl_cfg_options[i].flags & OPTF_SECRET);
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
        for (size_t i = 0; i < kl_cfg_n_opts && n < max; i++) {
                const struct opt *o = &kl_cfg_options[i];
                bool changed;

                if (o->flags & OPTF_NOT_YET) {
                        ret_names[n++] = o->name;
                        continue;
                }
                if (!(o->flags & OPTF_UNSUPPORTED))
                        continue;
                if (o->kind == OPT_STR)
                        changed = strcmp(*kl_cfg_field_str_c(cfg, o), o->def_str) != 0;
                else
                        changed = kl_cfg_field_num(cfg, o) != o->def_num;
                if (changed)
                        ret_names[n++] = o->name;
        }
        if (n < max)
                ret_names[n] = NULL;
        return n;
}
