/* SPDX-License-Identifier: Apache-2.0 */
/* lib/core/cli.c: options from the command line and --config, the command line winning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "test_util.h"

struct opts {
        const char *listen;
        const char *db;
        bool flag;
        unsigned n;
        const char *list[4];
        unsigned n_list;
};

static const char *parse_n(const char *s, void *vo)
{
        struct opts *o = vo;
        char *end = NULL;
        unsigned long v = strtoul(s, &end, 10);

        if (end == s || *end != '\0' || v > 9)
                return "0-9";
        o->n = (unsigned)v;
        return NULL;
}

static const char *parse_item(const char *s, void *vo)
{
        struct opts *o = vo;

        if (o->n_list >= 4)
                return "at most 4";
        o->list[o->n_list++] = s;
        return NULL;
}

static const struct kl_cli_option rows[] = {
    {.name = "listen",
     .short_name = 'l',
     .arg = "ADDR",
     .help = "address",
     .kind = KL_CLI_STRING,
     .offset = offsetof(struct opts, listen)},
    {.name = "db-path",
     .arg = "PATH",
     .help = "db",
     .kind = KL_CLI_STRING,
     .offset = offsetof(struct opts, db)},
    {.name = "flag", .help = "a flag", .kind = KL_CLI_FLAG, .offset = offsetof(struct opts, flag)},
    {.name = "n", .arg = "N", .help = "a number", .kind = KL_CLI_PARSE, .parse = parse_n},
    {.name = "item",
     .arg = "X",
     .help = "repeatable",
     .kind = KL_CLI_PARSE,
     .parse = parse_item,
     .flags = KL_CLI_CMDLINE_ONLY},
};

static const struct kl_cli_program prog = {
    .name = "test_cli",
    .synopsis = "[OPTIONS]",
    .about = "about",
    .version = "test_cli 1",
    .man_page = "test_cli(8)",
    .config_table = "test",
    .options = rows,
    .n_options = sizeof(rows) / sizeof(rows[0]),
};

static char conf_dir[4000];
static char conf_path[4096];

/* Writes text to a fresh config file at conf_path. */
static void write_conf(const char *text)
{
        FILE *f;

        kl_test_tmpdir(conf_dir, sizeof(conf_dir), "kl-cli");
        snprintf(conf_path, sizeof(conf_path), "%s/test.conf", conf_dir);
        f = fopen(conf_path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void remove_conf(void)
{
        unlink(conf_path);
        rmdir(conf_dir);
}

/*
 * Parses line, split at spaces ("@" stands for the last written config file),
 * as a command line. The words stay valid until the next call, as argv would.
 */
static enum kl_cli_result run(struct opts *o, struct kl_cli **cli, const char *line)
{
        static char words[1024];
        char *argv[16] = {NULL};
        int argc = 0;

        assert_true(strlen(line) < sizeof(words));
        memcpy(words, line, strlen(line) + 1);
        for (char *w = words; w != NULL && argc < 15;) {
                char *sp = strchr(w, ' ');

                if (sp != NULL)
                        *sp++ = '\0';
                argv[argc++] = strcmp(w, "@") == 0 ? conf_path : w;
                w = sp;
        }
        memset(o, 0, sizeof(*o));
        *cli = NULL;
        return kl_cli_parse(&prog, argc, argv, o, cli);
}

static void test_cli_parse_command_line(void **state)
{
        struct kl_cli *cli;
        struct opts o;

        (void)state;
        assert_int_equal(run(&o, &cli, "p -l a:1 --db-path=x --flag --n 3 --item i1 --item i2"),
                         KL_CLI_RUN);
        assert_string_equal(o.listen, "a:1");
        assert_string_equal(o.db, "x");
        assert_true(o.flag);
        assert_int_equal(o.n, 3);
        assert_int_equal(o.n_list, 2);
        assert_string_equal(o.list[1], "i2");
        kl_cli_free(cli);
}

static void test_cli_parse_bad_value_or_option(void **state)
{
        struct kl_cli *cli;
        struct opts o;

        (void)state;
        assert_int_equal(run(&o, &cli, "p --n 12"), KL_CLI_USAGE);
        assert_int_equal(run(&o, &cli, "p --nope"), KL_CLI_USAGE);
        assert_int_equal(run(&o, &cli, "p extra"), KL_CLI_USAGE);
        assert_int_equal(run(&o, &cli, "p -L loud"), KL_CLI_USAGE);
}

static void test_cli_parse_log_level_short_and_long(void **state)
{
        struct kl_cli *cli;
        struct opts o;

        (void)state;
        assert_int_equal(run(&o, &cli, "p -L debug"), KL_CLI_RUN);
        assert_int_equal(kl_log_get_level(), KL_LOG_DEBUG);
        kl_cli_free(cli);
        assert_int_equal(run(&o, &cli, "p --log-level error"), KL_CLI_RUN);
        assert_int_equal(kl_log_get_level(), KL_LOG_ERROR);
        kl_cli_free(cli);
        kl_log_set_level(KL_LOG_INFO);
}

static void test_cli_parse_config_file_command_line_wins(void **state)
{
        struct kl_cli *cli;
        struct opts o;

        (void)state;
        write_conf("# stub config\n[test]\nlisten = \"file:2\"\n"
                   "db_path = \"/var/db\"\nflag = true\nn = 7\n"
                   "log_level = \"warn\"\n");
        assert_int_equal(run(&o, &cli, "p --listen cmd:1 --config @"), KL_CLI_RUN);
        assert_string_equal(o.listen, "cmd:1"); /* the command line wins */
        assert_string_equal(o.db, "/var/db");
        assert_true(o.flag);
        assert_int_equal(o.n, 7);
        assert_int_equal(kl_log_get_level(), KL_LOG_WARNING);
        kl_log_set_level(KL_LOG_INFO);
        kl_cli_free(cli);
        remove_conf();
}

static void test_cli_parse_config_file_rejects(void **state)
{
        static const char *const bad[] = {
            "[test]\nnope = 1\n",         /* unknown key */
            "[test]\nitem = \"x\"\n",     /* command line only */
            "[other]\nlisten = \"x\"\n",  /* wrong table */
            "[test]\nflag = \"yes\"\n",   /* not a boolean */
            "[test]\nn = 12\n",           /* the row's own check */
            "[test]\nlisten = [\"a\"]\n", /* arrays are not option values */
            "[test]\nlisten = 1.5\n",     /* TOML the reader refuses */
            "[test]\nlog_level = \"loud\"\n",
        };
        struct kl_cli *cli;
        struct opts o;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                write_conf(bad[i]);
                assert_int_equal(run(&o, &cli, "p --config @"), KL_CLI_USAGE);
                remove_conf();
        }
        assert_int_equal(run(&o, &cli, "p --config /nonexistent/test.conf"), KL_CLI_USAGE);
}

static void test_cli_usage_lists_rows_and_page(void **state)
{
        char buf[4096] = "";
        FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

        (void)state;
        assert_non_null(f);
        kl_cli_usage(&prog, f);
        fclose(f);
        assert_non_null(strstr(buf, "-l, --listen ADDR"));
        assert_non_null(strstr(buf, "--db-path PATH"));
        assert_non_null(strstr(buf, "-L, --log-level LEVEL"));
        assert_non_null(strstr(buf, "--config FILE"));
        assert_non_null(strstr(buf, "See test_cli(8)."));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cli_parse_command_line),
            cmocka_unit_test(test_cli_parse_bad_value_or_option),
            cmocka_unit_test(test_cli_parse_log_level_short_and_long),
            cmocka_unit_test(test_cli_parse_config_file_command_line_wins),
            cmocka_unit_test(test_cli_parse_config_file_rejects),
            cmocka_unit_test(test_cli_usage_lists_rows_and_page),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
