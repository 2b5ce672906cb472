/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gen_conf_man TEMPLATE DESCRIPTIONS: writes keylime-agent.conf(5) in scdoc
 * to stdout: TEMPLATE with its @OPTIONS@ line replaced by one entry per row
 * of the agent's option table (config_options.h), so the page lists exactly what the
 * loader accepts, with its type, default and variable. DESCRIPTIONS gives
 * the prose per option; an option without one, or a description of an
 * option the table lacks, fails the build. Runs at build time only.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_options.h"
#include "err.h"
#include "fileio.h"

#define MAX_TEXT (256u * 1024u)
#define MAX_DESC 128

struct desc {
        char name[64];
        char text[1024];
        bool used;
};

/* scdoc markup characters in literal text get a backslash */
static void put_escaped(const char *s)
{
        for (; *s != '\0'; s++) {
                if (*s == '_' || *s == '*' || *s == '\\')
                        putchar('\\');
                putchar(*s);
        }
}

/* "name: text" lines, continuation lines starting with whitespace, '#' comments */
static int read_descriptions(const char *text, struct desc *d, size_t *ret_n)
{
        size_t n = 0;

        for (const char *line = text; *line != '\0';) {
                const char *nl = strchr(line, '\n');
                size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
                const char *colon = memchr(line, ':', len);

                if (len == 0 || line[0] == '#') {
                        /* blank or comment */
                } else if (isspace((unsigned char)line[0])) {
                        size_t have;

                        if (n == 0)
                                return -1;
                        have = strlen(d[n - 1].text);
                        if (have + len + 1 >= sizeof(d[n - 1].text))
                                return -1;
                        d[n - 1].text[have] = ' ';
                        memcpy(d[n - 1].text + have + 1, line + 1, len - 1);
                        d[n - 1].text[have + len] = '\0';
                } else {
                        size_t nlen = colon != NULL ? (size_t)(colon - line) : 0;
                        size_t tlen = colon != NULL ? len - nlen - 1 : 0;

                        if (colon == NULL || n == MAX_DESC || nlen >= sizeof(d[n].name) ||
                            tlen >= sizeof(d[n].text))
                                return -1;
                        memcpy(d[n].name, line, nlen);
                        d[n].name[nlen] = '\0';
                        while (tlen > 0 && colon[1] == ' ') {
                                colon++;
                                tlen--;
                        }
                        memcpy(d[n].text, colon + 1, tlen);
                        d[n].text[tlen] = '\0';
                        n++;
                }
                line = nl != NULL ? nl + 1 : line + len;
        }
        *ret_n = n;
        return 0;
}

static const char *type_name(const struct opt *o)
{
        switch (o->kind) {
        case OPT_STR:
                return "string";
        case OPT_U16:
        case OPT_U32:
                return "integer";
        case OPT_BOOL:
                return "boolean";
        }
        return "?";
}

static void put_default(const struct opt *o)
{
        if (o->path != PATH_NONE && o->path_default != NULL) {
                printf("\"%s\", which is _", o->def_str != NULL ? o->def_str : "");
                if (o->path != PATH_ROOT)
                        put_escaped("<keylime_dir>/");
                put_escaped(o->path_default);
                putchar('_');
        } else if (o->kind == OPT_STR) {
                putchar('"');
                put_escaped(o->def_str != NULL ? o->def_str : "");
                putchar('"');
        } else if (o->kind == OPT_BOOL) {
                printf("%s", o->def_num ? "true" : "false");
        } else {
                printf("%u", (unsigned)o->def_num);
        }
}

static int put_option(const struct opt *o, struct desc *d, size_t n)
{
        struct desc *found = NULL;

        for (size_t i = 0; i < n; i++)
                if (strcmp(d[i].name, o->name) == 0)
                        found = &d[i];
        if (found == NULL) {
                fprintf(stderr, "gen_conf_man: option '%s' has no description\n", o->name);
                return -1;
        }
        found->used = true;
        putchar('*');
        put_escaped(o->name);
        printf("* = _%s_\n\tDefault: ", type_name(o));
        put_default(o);
        if (o->flags & OPTF_ROOT_DEFAULT)
                printf(" when started as root, else \"\"");
        if (o->kind == OPT_U16 || o->kind == OPT_U32)
                printf("; range %u to %u", (unsigned)o->min, (unsigned)o->max);
        printf(". Variable: *KEYLIME\\_AGENT\\_");
        for (const char *p = o->name; *p != '\0'; p++) {
                if (*p == '_')
                        putchar('\\');
                putchar(toupper((unsigned char)*p));
        }
        printf("*.\n\n\t");
        put_escaped(found->text);
        if (o->flags & (OPTF_UNSUPPORTED | OPTF_NOT_YET))
                printf(" Accepted for compatibility; this agent does not implement it, and "
                       "reports it at start when set.");
        printf("\n\n");
        return 0;
}

int main(int argc, char **argv)
{
        static struct desc d[MAX_DESC];
        char *tmpl = NULL, *descs = NULL, *mark;
        size_t len = 0, n = 0;
        int status = 1;

        if (argc != 3) {
                fprintf(stderr, "usage: gen_conf_man TEMPLATE DESCRIPTIONS\n");
                return 2;
        }
        if (kl_file_read(argv[1], MAX_TEXT, &tmpl, &len) < 0 ||
            kl_file_read(argv[2], MAX_TEXT, &descs, &len) < 0) {
                fprintf(stderr, "gen_conf_man: cannot read %s or %s\n", argv[1], argv[2]);
                goto out;
        }
        if (read_descriptions(descs, d, &n) < 0) {
                fprintf(stderr, "gen_conf_man: %s: bad line (expected \"name: text\")\n", argv[2]);
                goto out;
        }
        if ((mark = strstr(tmpl, "@OPTIONS@\n")) == NULL) {
                fprintf(stderr, "gen_conf_man: %s has no @OPTIONS@ line\n", argv[1]);
                goto out;
        }
        fwrite(tmpl, 1, (size_t)(mark - tmpl), stdout);
        for (size_t i = 0; i < kl_cfg_n_opts; i++)
                if (put_option(&kl_cfg_options[i], d, n) < 0)
                        goto out;
        for (size_t i = 0; i < n; i++) {
                if (!d[i].used) {
                        fprintf(stderr, "gen_conf_man: '%s' is described but not an option\n",
                                d[i].name);
                        goto out;
                }
        }
        fputs(mark + strlen("@OPTIONS@\n"), stdout);
        status = fflush(stdout) == 0 ? 0 : 1;
out:
        free(tmpl);
        free(descs);
        return status;
}
