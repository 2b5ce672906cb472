/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Command-line options of the programs, described by one table per program:
 * the table drives getopt, --help, and the optional --config FILE (a TOML
 * file whose [TABLE] keys are the long option names with '_' for '-'). The
 * command line wins over the file. Every program gets the same common
 * options: -L/--log-level LEVEL, -h/--help, -V/--version.
 *
 * A program adds an option by adding one table row; nothing else lists it.
 */
#ifndef KL_CLI_H
#define KL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum kl_cli_kind {
        KL_CLI_STRING, /* stores a const char * at offset (argv or the config file's copy) */
        KL_CLI_FLAG,   /* stores true in a bool at offset */
        KL_CLI_PARSE,  /* calls parse(value, opts) */
};

#define KL_CLI_CMDLINE_ONLY 0x1u /* not accepted in the config file (e.g. repeatable) */

/*
 * parse returns NULL when value was accepted and stored in opts, else what was
 * expected ("0.1 to 3600 s"), which the caller prints with the option's name.
 */
typedef const char *(*kl_cli_parse_fn)(const char *value, void *opts);

struct kl_cli_option {
        const char *name;  /* long name, e.g. "listen" */
        int short_name;    /* 0: long only */
        const char *arg;   /* placeholder shown in --help; NULL for a flag */
        const char *help;  /* may hold '\n' for continuation lines */
        const char *group; /* heading printed before this row in --help, or NULL */
        enum kl_cli_kind kind;
        size_t offset;         /* KL_CLI_STRING, KL_CLI_FLAG */
        kl_cli_parse_fn parse; /* KL_CLI_PARSE */
        unsigned flags;
};

struct kl_cli_program {
        const char *name;          /* "keylime_registrar_stub" */
        const char *synopsis;      /* after "Usage: NAME ", e.g. "[OPTIONS]" */
        const char *about;         /* paragraph after the usage line */
        const char *footer;        /* after the options, e.g. the run/stop contract */
        const char *version;       /* the --version line */
        const char *man_page;      /* "keylime_agent(8)", named by --help */
        const char *log_level_env; /* e.g. "KEYLIME_LOG_LEVEL", or NULL */
        const char *config_table;  /* TOML table read by --config, NULL: no --config */
        const struct kl_cli_option *options;
        size_t n_options;
};

enum kl_cli_result {
        KL_CLI_RUN = 0,  /* options stored: go on */
        KL_CLI_EXIT = 1, /* --help or --version printed: exit 0 */
        KL_CLI_USAGE = 2 /* a bad option, value or config file (reported): exit 2 */
};

struct kl_cli; /* holds the strings read from --config; free after the last use of opts */

/*
 * Parses argv[1..argc) (no operands allowed) into opts, after the config file
 * if --config was given. On KL_CLI_RUN *ret_cli is set (kl_cli_free it).
 */
enum kl_cli_result kl_cli_parse(const struct kl_cli_program *p, int argc, char **argv, void *opts,
                                struct kl_cli **ret_cli);
void kl_cli_free(struct kl_cli *cli);
void kl_cli_usage(const struct kl_cli_program *p, FILE *out);

#endif
