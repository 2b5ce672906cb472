/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Table-driven command lines (cli.h). Two getopt passes: the first finds
 * --help, --version, --config and which options the command line sets; then
 * the config file fills the options the command line leaves alone; the
 * second pass stores the command line's values. So the command line wins
 * whatever the order, and a bad file line is reported with its line number.
 */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "log.h"
#include "toml.h"

/* getopt values of long-only rows and of --config: above every char */
#define VAL_ROW(i)  (256 + (int)(i))
#define VAL_CONFIG  255
#define VAL_MAN     254 /* --man-options, for the build only: not in --help */
#define HELP_COLUMN 26

struct kl_cli {
        char **owned; /* strings copied from the config file, lent to opts */
        size_t n_owned;
};

struct file_ctx {
        const struct kl_cli_program *p;
        struct kl_cli *cli;
        void *opts;
        const bool *on_cmdline; /* per row: the command line sets it, so skip */
        const char *path;
        bool failed;
};

void kl_cli_free(struct kl_cli *cli)
{
        if (cli == NULL)
                return;
        for (size_t i = 0; i < cli->n_owned; i++)
                free(cli->owned[i]);
        free(cli->owned);
        free(cli);
}

static void print_row(FILE *out, int short_name, const char *name, const char *arg,
                      const char *help)
{
        int w =
            fprintf(out, "  %c%c%s--%s%s%s", short_name ? '-' : ' ', short_name ? short_name : ' ',
                    short_name ? ", " : "  ", name, arg != NULL ? " " : "", arg != NULL ? arg : "");
        const char *line = help;

        if (w < 0)
                return;
        if (w >= HELP_COLUMN - 1) {
                fputc('\n', out);
                w = 0;
        }
        /* continuation lines of help start in the same column */
        while (line != NULL) {
                const char *nl = strchr(line, '\n');
                int len = nl != NULL ? (int)(nl - line) : (int)strlen(line);

                fprintf(out, "%*s%.*s\n", HELP_COLUMN - w, "", len, line);
                w = 0;
                line = nl != NULL ? nl + 1 : NULL;
        }
}

void kl_cli_usage(const struct kl_cli_program *p, FILE *out)
{
        char help[160];

        fprintf(out, "Usage: %s %s\n%s\n\n", p->name, p->synopsis, p->about);
        for (size_t i = 0; i < p->n_options; i++) {
                const struct kl_cli_option *o = &p->options[i];

                if (o->group != NULL)
                        fprintf(out, "%s%s\n", i > 0 ? "\n" : "", o->group);
                print_row(out, o->short_name, o->name, o->arg, o->help);
        }
        fprintf(out, "%s\n", p->n_options > 0 ? "\ncommon options:" : "Options:");
        if (p->config_table != NULL) {
                snprintf(help, sizeof(help),
                         "read options from FILE: TOML, table [%s], keys\n"
                         "are the long names with '_' for '-'; the command\n"
                         "line wins",
                         p->config_table);
                print_row(out, 0, "config", "FILE", help);
        }
        snprintf(help, sizeof(help), "error, warn, info (default) or debug%s%s",
                 p->log_level_env != NULL ? ";\nalso " : "",
                 p->log_level_env != NULL ? p->log_level_env : "");
        print_row(out, 'L', "log-level", "LEVEL", help);
        print_row(out, 'h', "help", NULL, "show this help and exit");
        print_row(out, 'V', "version", NULL, "show the version and exit");
        if (p->footer != NULL)
                fprintf(out, "\n%s\n", p->footer);
        fprintf(out, "\nSee %s.\n", p->man_page);
}

/* scdoc markup characters in literal text get a backslash */
static void put_scdoc(FILE *out, const char *s)
{
        for (; *s != '\0'; s++) {
                if (*s == '\n') {
                        fputc(' ', out);
                        continue;
                }
                if (*s == '_' || *s == '*' || *s == '\\')
                        fputc('\\', out);
                fputc(*s, out);
        }
}

static void man_row(FILE *out, int short_name, const char *name, const char *arg, const char *help)
{
        if (short_name)
                fprintf(out, "*-%c*, ", short_name);
        fputc('*', out);
        put_scdoc(out, "--");
        put_scdoc(out, name);
        fputc('*', out);
        if (arg != NULL) {
                fputs(" _", out);
                put_scdoc(out, arg);
                fputc('_', out);
        }
        fputs("\n\t", out);
        put_scdoc(out, help);
        fputs("\n\n", out);
}

/*
 * The options as the OPTIONS section of the program's manual page (scdoc),
 * so the page is built from the same table as --help and cannot drift.
 */
static void print_man(const struct kl_cli_program *p, FILE *out)
{
        for (size_t i = 0; i < p->n_options; i++) {
                const struct kl_cli_option *o = &p->options[i];

                if (o->group != NULL && strcmp(o->group, "Options:") != 0)
                        fprintf(out, "## %.*s\n\n", (int)strcspn(o->group, ":"), o->group);
                man_row(out, o->short_name, o->name, o->arg, o->help);
        }
        if (p->n_options > 0)
                fputs("## common options\n\n", out);
        if (p->config_table != NULL)
                man_row(out, 0, "config", "FILE",
                        "Read options from FILE first (see CONFIGURATION); the command line wins.");
        man_row(out, 'L', "log-level", "LEVEL", "error, warn, info (the default) or debug.");
        man_row(out, 'h', "help", NULL, "Show a summary of the options and exit.");
        man_row(out, 'V', "version", NULL, "Show the version and exit.");
}

/* Stores value (NULL for a flag) in the row's field; where names the source in errors. */
static int store(const struct kl_cli_program *p, const struct kl_cli_option *o, const char *value,
                 void *opts, const char *where)
{
        const char *expected;

        switch (o->kind) {
        case KL_CLI_STRING:
                memcpy((char *)opts + o->offset, &value, sizeof(value));
                return 0;
        case KL_CLI_FLAG:
                *(bool *)((char *)opts + o->offset) = true;
                return 0;
        case KL_CLI_PARSE:
                if ((expected = o->parse(value, opts)) == NULL)
                        return 0;
                fprintf(stderr, "%s: %s: invalid value '%s' (%s)\n", p->name, where,
                        value != NULL ? value : "", expected);
                return -1;
        }
        return -1;
}

static int set_log_level(const struct kl_cli_program *p, const char *value, const char *where)
{
        enum kl_log_level level;

        if (!kl_log_level_parse(value, &level)) {
                fprintf(stderr, "%s: %s: unknown log level '%s' (error, warn, info, debug)\n",
                        p->name, where, value);
                return -1;
        }
        kl_log_set_level(level);
        return 0;
}

/* "listen-addr" matches the file key "listen_addr" */
static bool key_matches(const char *name, const char *key)
{
        for (; *name != '\0' && *key != '\0'; name++, key++)
                if (*key != (*name == '-' ? '_' : *name))
                        return false;
        return *name == '\0' && *key == '\0';
}

static int keep_copy(struct kl_cli *cli, const char *s, char **ret)
{
        char **grown = realloc(cli->owned, (cli->n_owned + 1) * sizeof(*grown));
        char *copy;

        if (grown == NULL)
                return KL_ERR_NOMEM;
        cli->owned = grown;
        if ((copy = strdup(s)) == NULL)
                return KL_ERR_NOMEM;
        cli->owned[cli->n_owned++] = copy;
        *ret = copy;
        return 0;
}

static int file_value(void *vctx, const char *table, const char *key, const struct kl_toml_value *v,
                      unsigned line)
{
        struct file_ctx *ctx = vctx;
        const struct kl_cli_program *p = ctx->p;
        const struct kl_cli_option *o = NULL;
        char where[512], num[32], *value = NULL;
        size_t i;

        snprintf(where, sizeof(where), "%s:%u: %s", ctx->path, line, key);
        if (table[0] == '\0') {
                fprintf(stderr, "%s: %s:%u: %s is outside the [%s] table\n", p->name, ctx->path,
                        line, key, p->config_table);
                ctx->failed = true;
                return 0;
        }
        if (strcmp(table, p->config_table) != 0) {
                fprintf(stderr, "%s: %s:%u: unknown table '[%s]' (expected [%s])\n", p->name,
                        ctx->path, line, table, p->config_table);
                ctx->failed = true;
                return 0;
        }
        if (key_matches("log-level", key)) {
                if (v->type != KL_TOML_STRING || set_log_level(p, v->u.str.ptr, where) < 0) {
                        if (v->type != KL_TOML_STRING)
                                fprintf(stderr, "%s: %s: expected a string\n", p->name, where);
                        ctx->failed = true;
                }
                return 0;
        }
        for (i = 0; i < p->n_options; i++)
                if (key_matches(p->options[i].name, key))
                        break;
        if (i == p->n_options || (p->options[i].flags & KL_CLI_CMDLINE_ONLY)) {
                fprintf(stderr, "%s: %s: unknown option\n", p->name, where);
                ctx->failed = true;
                return 0;
        }
        o = &p->options[i];
        if (ctx->on_cmdline[i])
                return 0;
        if (o->kind == KL_CLI_FLAG) {
                if (v->type != KL_TOML_BOOL) {
                        fprintf(stderr, "%s: %s: expected true or false\n", p->name, where);
                        ctx->failed = true;
                } else if (v->u.b) {
                        (void)store(p, o, NULL, ctx->opts, where);
                }
                return 0;
        }
        if (v->type == KL_TOML_INT) {
                snprintf(num, sizeof(num), "%" PRId64, v->u.i);
        } else if (v->type != KL_TOML_STRING) {
                fprintf(stderr, "%s: %s: expected a string or a number\n", p->name, where);
                ctx->failed = true;
                return 0;
        }
        if (keep_copy(ctx->cli, v->type == KL_TOML_INT ? num : v->u.str.ptr, &value) < 0)
                return KL_ERR_NOMEM;
        if (store(p, o, value, ctx->opts, where) < 0)
                ctx->failed = true;
        return 0;
}

static int read_config(struct file_ctx *ctx)
{
        char *text = NULL, err[256] = "";
        size_t len = 0;
        int r;

        if ((r = kl_file_read(ctx->path, KL_TOML_MAX_INPUT, &text, &len)) < 0) {
                fprintf(stderr, "%s: cannot read --config '%s': %s\n", ctx->p->name, ctx->path,
                        kl_err_str(r));
                return -1;
        }
        r = kl_toml_parse(text, len, file_value, ctx, err, sizeof(err));
        free(text);
        if (r == KL_ERR_NOMEM)
                fprintf(stderr, "%s: out of memory\n", ctx->p->name);
        else if (r < 0)
                fprintf(stderr, "%s: %s:%s\n", ctx->p->name, ctx->path, err);
        return r < 0 || ctx->failed ? -1 : 0;
}

/* Fills longopts and shortopts from the table plus the common options. */
static void build_getopt(const struct kl_cli_program *p, struct option *lo, char *so)
{
        size_t n = 0, s = 0;

        for (size_t i = 0; i < p->n_options; i++) {
                const struct kl_cli_option *o = &p->options[i];

                lo[n++] = (struct option){o->name, o->arg != NULL ? required_argument : no_argument,
                                          NULL, o->short_name ? o->short_name : VAL_ROW(i)};
                if (o->short_name) {
                        so[s++] = (char)o->short_name;
                        if (o->arg != NULL)
                                so[s++] = ':';
                }
        }
        if (p->config_table != NULL)
                lo[n++] = (struct option){"config", required_argument, NULL, VAL_CONFIG};
        lo[n++] = (struct option){"man-options", no_argument, NULL, VAL_MAN};
        lo[n++] = (struct option){"log-level", required_argument, NULL, 'L'};
        lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
        lo[n++] = (struct option){"version", no_argument, NULL, 'V'};
        lo[n] = (struct option){NULL, 0, NULL, 0};
        memcpy(so + s, "L:hV", sizeof("L:hV"));
}

/* The table row getopt's c stands for, or n_options. */
static size_t row_of(const struct kl_cli_program *p, int c)
{
        if (c >= VAL_ROW(0))
                return (size_t)(c - VAL_ROW(0));
        for (size_t i = 0; i < p->n_options; i++)
                if (p->options[i].short_name == c)
                        return i;
        return p->n_options;
}

enum kl_cli_result kl_cli_parse(const struct kl_cli_program *p, int argc, char **argv, void *opts,
                                struct kl_cli **ret_cli)
{
        struct option *lo = calloc(p->n_options + 6, sizeof(*lo));
        char *so = calloc(2 * p->n_options + 8, 1);
        bool *on_cmdline = calloc(p->n_options + 1, sizeof(*on_cmdline));
        struct kl_cli *cli = calloc(1, sizeof(*cli));
        struct file_ctx fctx = {.p = p, .cli = cli, .opts = opts, .on_cmdline = on_cmdline};
        enum kl_cli_result res = KL_CLI_USAGE;
        const char *env = p->log_level_env != NULL ? getenv(p->log_level_env) : NULL;
        char where[128];
        size_t row;
        int c;

        if (lo == NULL || so == NULL || on_cmdline == NULL || cli == NULL) {
                fprintf(stderr, "%s: out of memory\n", p->name);
                goto out;
        }
        build_getopt(p, lo, so);
        optind = 0; /* GNU: full reinitialisation, so the parse can run twice */
        while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
                if (c == 'h') {
                        kl_cli_usage(p, stdout);
                        res = KL_CLI_EXIT;
                        goto out;
                } else if (c == 'V') {
                        printf("%s\n", p->version);
                        res = KL_CLI_EXIT;
                        goto out;
                } else if (c == VAL_MAN) {
                        print_man(p, stdout);
                        res = KL_CLI_EXIT;
                        goto out;
                } else if (c == VAL_CONFIG) {
                        fctx.path = optarg;
                } else if (c == 'L') {
                        continue;
                } else if ((row = row_of(p, c)) < p->n_options) {
                        on_cmdline[row] = true;
                } else {
                        fprintf(stderr, "Try '%s --help'.\n", p->name);
                        goto out;
                }
        }
        if (optind != argc) {
                fprintf(stderr, "%s: unexpected argument '%s'\n", p->name, argv[optind]);
                goto out;
        }
        if (env != NULL && env[0] != '\0' && set_log_level(p, env, p->log_level_env) < 0)
                goto out;
        if (fctx.path != NULL && read_config(&fctx) < 0)
                goto out;
        optind = 0;
        opterr = 0; /* the first pass reported every unknown option */
        while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
                if (c == 'L') {
                        if (set_log_level(p, optarg, "--log-level") < 0)
                                goto out;
                        continue;
                }
                if ((row = row_of(p, c)) >= p->n_options)
                        continue; /* --config */
                snprintf(where, sizeof(where), "--%s", p->options[row].name);
                if (store(p, &p->options[row], p->options[row].arg != NULL ? optarg : NULL, opts,
                          where) < 0)
                        goto out;
        }
        *ret_cli = cli;
        cli = NULL;
        res = KL_CLI_RUN;
out:
        opterr = 1;
        kl_cli_free(cli);
        free(on_cmdline);
        free(so);
        free(lo);
        return res;
}
