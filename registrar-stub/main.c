/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keylime_registrar_stub: a small Keylime-compatible registrar (API 2.1-2.6)
 * for tests and demos. Lifecycle only: options, database, HTTP server,
 * signals. Signals are blocked before libmicrohttpd starts its threads and
 * read synchronously here, so no handler ever runs in signal context.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ak_check.h"
#include "api.h"
#include "cli.h"
#include "err.h"
#include "http_server.h"
#include "log.h"
#include "notify.h"
#include "service.h"
#include "store.h"

#define DEFAULT_LISTEN "127.0.0.1:8890"
#define DEFAULT_DB     "./registrar.sqlite"
#define MAX_BODY       (1024 * 1024)

struct options {
        const char *listen;
        const char *db;
        const char *ek_ca_dir;
        const char *port_file;
        bool require_ek_cert;
        const char *platform_ca_dir;
        bool require_platform_cert;
        const char *ak_hash_algs;
        const char *ak_sign_algs;
};

#define OPT(field) offsetof(struct options, field)

/* One row per option (cli.h); --config, --log-level, --help, --version are common. */
static const struct kl_cli_option registrar_cli[] = {
    {.name = "listen",
     .arg = "HOST:PORT",
     .group = "Options:",
     .kind = KL_CLI_STRING,
     .offset = OPT(listen),
     .help = "address to listen on (default " DEFAULT_LISTEN "); IPv6 as\n"
             "[::1]:8890; port 0 picks a free port (see --port-file)"},
    {.name = "db",
     .arg = "PATH",
     .kind = KL_CLI_STRING,
     .offset = OPT(db),
     .help = "SQLite database (default " DEFAULT_DB "); \":memory:\"\nkeeps nothing on disk"},
    {.name = "ek-ca-dir",
     .arg = "DIR",
     .kind = KL_CLI_STRING,
     .offset = OPT(ek_ca_dir),
     .help = "directory of PEM CA certificates; EK certificates must\n"
             "chain to one of them (refused with 403 otherwise)"},
    {.name = "require-ek-cert",
     .kind = KL_CLI_FLAG,
     .offset = OPT(require_ek_cert),
     .help = "refuse registrations without an EK certificate (403)"},
    {.name = "platform-ca-dir",
     .arg = "DIR",
     .kind = KL_CLI_STRING,
     .offset = OPT(platform_ca_dir),
     .help = "directory of PEM platform CA certificates; a TCG platform\n"
             "certificate sent with a registration must be signed by one,\n"
             "be valid now and name the EK certificate (4xx otherwise)"},
    {.name = "require-platform-cert",
     .kind = KL_CLI_FLAG,
     .offset = OPT(require_platform_cert),
     .help = "refuse registrations without a platform certificate (403;\n"
             "needs --platform-ca-dir)"},
    {.name = "ak-hash-algs",
     .arg = "LIST",
     .kind = KL_CLI_STRING,
     .offset = OPT(ak_hash_algs),
     .help = "accepted AK name and scheme hashes (default\n" KL_AK_HASH_ALGS_DEFAULT ")"},
    {.name = "ak-sign-algs",
     .arg = "LIST",
     .kind = KL_CLI_STRING,
     .offset = OPT(ak_sign_algs),
     .help = "accepted AK signing schemes (default\n" KL_AK_SIGN_ALGS_DEFAULT ")"},
    {.name = "port-file",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(port_file),
     .help = "write the bound port number to FILE once listening"},
};

static const struct kl_cli_program registrar_program = {
    .name = "keylime_registrar_stub",
    .synopsis = "[OPTIONS]",
    .about = "Keylime-compatible registrar stub (registrar API " REG_API_CURRENT_VERSION
             ") over plain HTTP.",
    .footer = "Runs until SIGINT or SIGTERM.",
    .version = "keylime_registrar_stub " KL_VERSION " (registrar API " REG_API_CURRENT_VERSION ")",
    .man_page = "keylime_registrar_stub(8)",
    .config_table = "registrar",
    .options = registrar_cli,
    .n_options = sizeof(registrar_cli) / sizeof(registrar_cli[0]),
};

int main(int argc, char **argv)
{
        struct options o = {.listen = DEFAULT_LISTEN, .db = DEFAULT_DB};
        struct kl_http_server_options hopts = {0};
        struct reg_api_config acfg = {0};
        struct kl_http_server *srv = NULL;
        struct reg_store *store = NULL;
        struct reg_api api;
        bool api_ready = false;
        struct kl_cli *cli = NULL;
        char host[256];
        uint16_t port = 0;
        sigset_t mask;
        int sig = 0;
        int ret = 1;

        kl_log_set_ident("keylime_registrar_stub");
        switch (kl_cli_parse(&registrar_program, argc, argv, &o, &cli)) {
        case KL_CLI_RUN:
                break;
        case KL_CLI_EXIT:
                return 0;
        case KL_CLI_USAGE:
                return 2;
        }
        if (kl_parse_host_port(o.listen, host, sizeof(host), &port) < 0) {
                fprintf(stderr, "invalid --listen '%s' (expected HOST:PORT or [V6]:PORT)\n",
                        o.listen);
                ret = 2;
                goto out;
        }
        if (o.ek_ca_dir != NULL && access(o.ek_ca_dir, R_OK | X_OK) != 0) {
                fprintf(stderr, "cannot read --ek-ca-dir '%s': %s\n", o.ek_ca_dir, strerror(errno));
                ret = 2;
                goto out;
        }

        if (o.platform_ca_dir != NULL && access(o.platform_ca_dir, R_OK | X_OK) != 0) {
                fprintf(stderr, "cannot read --platform-ca-dir '%s': %s\n", o.platform_ca_dir,
                        strerror(errno));
                ret = 2;
                goto out;
        }
        if (o.require_platform_cert && o.platform_ca_dir == NULL) {
                fprintf(stderr, "--require-platform-cert needs --platform-ca-dir\n");
                ret = 2;
                goto out;
        }
        if ((o.ak_hash_algs != NULL && !kl_ak_hash_algs_valid(o.ak_hash_algs)) ||
            (o.ak_sign_algs != NULL && !kl_ak_sign_algs_valid(o.ak_sign_algs))) {
                fprintf(stderr,
                        "invalid --ak-hash-algs or --ak-sign-algs (comma-separated names, e.g. "
                        "%s and %s)\n",
                        KL_AK_HASH_ALGS_DEFAULT, KL_AK_SIGN_ALGS_DEFAULT);
                ret = 2;
                goto out;
        }

        /* Before any thread exists, so every later thread inherits the mask. */
        if (kl_signals_block(&mask) < 0) {
                log_error("pthread_sigmask failed");
                goto out;
        }

        if (reg_store_open(o.db, &store) < 0)
                goto out;
        acfg.ek_ca_dir = o.ek_ca_dir;
        acfg.require_ek_cert = o.require_ek_cert;
        acfg.platform_ca_dir = o.platform_ca_dir;
        acfg.require_platform_cert = o.require_platform_cert;
        acfg.ak_hash_algs = o.ak_hash_algs;
        acfg.ak_sign_algs = o.ak_sign_algs;
        if (reg_api_init(&api, store, &acfg) < 0)
                goto out;
        api_ready = true;

        hopts.host = host;
        hopts.port = port;
        hopts.max_body = MAX_BODY;
        hopts.threads = 2;
        hopts.per_ip_limit = 64;
        if (kl_http_server_start(&hopts, reg_api_handle, &api, &srv) < 0)
                goto out;
        log_info("listening on %s port %u (db %s%s%s)", host, (unsigned)kl_http_server_port(srv),
                 o.db, o.ek_ca_dir != NULL ? ", EK CA dir " : "",
                 o.ek_ca_dir != NULL ? o.ek_ca_dir : "");
        if (o.port_file != NULL && kl_write_port_file(o.port_file, kl_http_server_port(srv)) < 0) {
                log_error("cannot write port file '%s': %s", o.port_file, strerror(errno));
                goto out;
        }

        kl_notify_ready("registrar API %s on %s port %u", REG_API_CURRENT_VERSION, host,
                        (unsigned)kl_http_server_port(srv));
        sig = kl_notify_wait_signal(&mask);
        kl_notify_stopping();
        log_info("received %s, shutting down", strsignal(sig));
        ret = 0;
out:
        /* Reverse order: no request may be running when the store goes away. */
        kl_http_server_stop(srv);
        if (api_ready)
                reg_api_fini(&api);
        reg_store_close(store);
        kl_cli_free(cli);
        return ret;
}
