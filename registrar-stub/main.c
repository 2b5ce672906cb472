/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keylime_registrar_stub: a small Keylime-compatible registrar (API 2.1-2.6)
 * for tests and demos. Lifecycle only: options, database, HTTP server,
 * signals. Signals are blocked before libmicrohttpd starts its threads and
 * read synchronously here, so no handler ever runs in signal context.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ak_check.h"
#include "api.h"
#include "err.h"
#include "http_server.h"
#include "log.h"
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

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: keylime_registrar_stub [OPTIONS]\n"
                "Keylime-compatible registrar stub (registrar API %s) over plain HTTP.\n"
                "\n"
                "  --listen HOST:PORT   address to listen on (default %s); IPv6 as [::1]:8890;\n"
                "                       port 0 picks a free port (see --port-file)\n"
                "  --db PATH            SQLite database (default %s); \":memory:\" keeps\n"
                "                       nothing on disk\n"
                "  --ek-ca-dir DIR      directory of PEM CA certificates; EK certificates must\n"
                "                       chain to one of them (refused with 403 otherwise)\n"
                "  --require-ek-cert    refuse registrations without an EK certificate (403)\n"
                "  --platform-ca-dir DIR  directory of PEM platform CA certificates; a TCG\n"
                "                       platform certificate sent with a registration must be\n"
                "                       signed by one, be valid now and name the EK certificate\n"
                "                       (refused with 4xx otherwise)\n"
                "  --require-platform-cert  refuse registrations without a platform\n"
                "                       certificate (403; needs --platform-ca-dir)\n"
                "  --ak-hash-algs LIST  accepted AK name and scheme hashes (default %s)\n"
                "  --ak-sign-algs LIST  accepted AK signing schemes (default %s)\n"
                "  --log-level LEVEL    error, warn, info (default) or debug\n"
                "  --port-file FILE     write the bound port number to FILE once listening\n"
                "  --version            print the version and exit\n"
                "  --help               show this help and exit\n"
                "\n"
                "Runs until SIGINT or SIGTERM.\n",
                REG_API_CURRENT_VERSION, DEFAULT_LISTEN, DEFAULT_DB, KL_AK_HASH_ALGS_DEFAULT,
                KL_AK_SIGN_ALGS_DEFAULT);
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
            {"listen", required_argument, NULL, 'l'},
            {"db", required_argument, NULL, 'd'},
            {"ek-ca-dir", required_argument, NULL, 'c'},
            {"require-ek-cert", no_argument, NULL, 'r'},
            {"platform-ca-dir", required_argument, NULL, 'P'},
            {"require-platform-cert", no_argument, NULL, 'R'},
            {"ak-hash-algs", required_argument, NULL, 'H'},
            {"ak-sign-algs", required_argument, NULL, 'S'},
            {"log-level", required_argument, NULL, 'L'},
            {"port-file", required_argument, NULL, 'p'},
            {"version", no_argument, NULL, 'V'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        struct options o = {.listen = DEFAULT_LISTEN, .db = DEFAULT_DB};
        struct kl_http_server_options hopts = {0};
        struct reg_api_config acfg = {0};
        struct kl_http_server *srv = NULL;
        struct reg_store *store = NULL;
        struct reg_api api;
        bool api_ready = false;
        enum kl_log_level level;
        char host[256];
        uint16_t port = 0;
        sigset_t mask;
        int sig = 0;
        int ret = 1;
        int c;

        kl_log_set_ident("keylime_registrar_stub");
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (c) {
                case 'l':
                        o.listen = optarg;
                        break;
                case 'd':
                        o.db = optarg;
                        break;
                case 'c':
                        o.ek_ca_dir = optarg;
                        break;
                case 'r':
                        o.require_ek_cert = true;
                        break;
                case 'P':
                        o.platform_ca_dir = optarg;
                        break;
                case 'R':
                        o.require_platform_cert = true;
                        break;
                case 'H':
                        o.ak_hash_algs = optarg;
                        break;
                case 'S':
                        o.ak_sign_algs = optarg;
                        break;
                case 'L':
                        if (!kl_log_level_parse(optarg, &level)) {
                                fprintf(stderr, "unknown log level '%s'\n", optarg);
                                return 2;
                        }
                        kl_log_set_level(level);
                        break;
                case 'p':
                        o.port_file = optarg;
                        break;
                case 'V':
                        printf("keylime_registrar_stub %s (registrar API %s)\n", KL_VERSION,
                               REG_API_CURRENT_VERSION);
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind != argc) {
                usage(stderr);
                return 2;
        }
        if (kl_parse_host_port(o.listen, host, sizeof(host), &port) < 0) {
                fprintf(stderr, "invalid --listen '%s' (expected HOST:PORT or [V6]:PORT)\n",
                        o.listen);
                return 2;
        }
        if (o.ek_ca_dir != NULL && access(o.ek_ca_dir, R_OK | X_OK) != 0) {
                fprintf(stderr, "cannot read --ek-ca-dir '%s': %s\n", o.ek_ca_dir, strerror(errno));
                return 2;
        }

        if (o.platform_ca_dir != NULL && access(o.platform_ca_dir, R_OK | X_OK) != 0) {
                fprintf(stderr, "cannot read --platform-ca-dir '%s': %s\n", o.platform_ca_dir,
                        strerror(errno));
                return 2;
        }
        if (o.require_platform_cert && o.platform_ca_dir == NULL) {
                fprintf(stderr, "--require-platform-cert needs --platform-ca-dir\n");
                return 2;
        }
        if ((o.ak_hash_algs != NULL && !kl_ak_hash_algs_valid(o.ak_hash_algs)) ||
            (o.ak_sign_algs != NULL && !kl_ak_sign_algs_valid(o.ak_sign_algs))) {
                fprintf(stderr,
                        "invalid --ak-hash-algs or --ak-sign-algs (comma-separated "
                        "names, e.g. %s and %s)\n",
                        KL_AK_HASH_ALGS_DEFAULT, KL_AK_SIGN_ALGS_DEFAULT);
                return 2;
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

        sig = kl_signals_wait(&mask);
        log_info("received %s, shutting down", strsignal(sig));
        ret = 0;
out:
        /* Reverse order: no request may be running when the store goes away. */
        kl_http_server_stop(srv);
        if (api_ready)
                reg_api_fini(&api);
        reg_store_close(store);
        return ret;
}
