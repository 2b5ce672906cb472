/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keylime_verifier_stub: keeps attesting Keylime agents (pull model) and
 * flags the first quote, IMA entry or boot event log that no longer matches
 * its policy. Lifecycle only: options, subcommands, database, HTTP server,
 * poller thread, signals. Signals are blocked before any thread starts and
 * read synchronously here, so no handler ever runs in signal context.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "client.h"
#include "err.h"
#include "http_client.h"
#include "http_server.h"
#include "log.h"
#include "notifier.h"
#include "poller.h"
#include "push_api.h"
#include "service.h"
#include "store.h"

#define DEFAULT_LISTEN   "127.0.0.1:8881"
#define DEFAULT_DB       "./verifier.sqlite"
#define DEFAULT_VERIFIER "http://127.0.0.1:8881"
#define MAX_BODY         (8 * 1024 * 1024) /* policies travel in the add request */
#define MAX_PCRS         64

/* long-only options: values outside the short-option range */
enum { OPT_REV_PUB = 1000, OPT_REV_KEY, OPT_REV_CERT, OPT_REV_REST, OPT_MODE };

struct options {
        const char *listen;
        const char *db;
        const char *registrar;
        const char *client_cert;
        const char *client_key;
        const char *port_file;
        bool push; /* --mode push: agents push evidence (API 3.0), nothing is polled */
        struct ver_notifier_config revocation; /* --revocation-* */
        unsigned interval_ms;
        unsigned max_retries;
        struct ver_client_options client;
        const char *pcrs[MAX_PCRS];
};

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: keylime_verifier_stub COMMAND [OPTIONS]\n"
                "Keylime-compatible verifier stub: polls agents for integrity quotes and checks\n"
                "them (AK signature, nonce, PCR digest, clock, PCR 16, PCR policy, IMA and\n"
                "boot event log replay).\n"
                "\n"
                "Commands:\n"
                "  serve    run the verifier: REST API on --listen, poll agents every --interval\n"
                "  add      ask a running verifier to attest --uuid (policy from --pcr,\n"
                "           --ima-policy, --mb-policy; address from --agent or the registrar)\n"
                "  status   print the verifier's view of --uuid as one JSON object\n"
                "  delete   stop attesting --uuid\n"
                "\n"
                "serve options:\n"
                "  --listen HOST:PORT     REST API address (default %s); port 0 picks one\n"
                "  --db PATH              SQLite database (default %s)\n"
                "  --registrar URL        registrar for agents' AK and mTLS certificate,\n"
                "                         e.g. http://127.0.0.1:8890\n"
                "  --client-cert FILE     client certificate shown to agents (mTLS)\n"
                "  --client-key FILE      its private key\n"
                "  --interval SECONDS     time between quotes of one agent (default 2)\n"
                "  --max-retries N        retries on timeouts/500/unreachable before \"Failed\"\n"
                "                         (default 5, back-off doubling up to 16 intervals)\n"
                "  --port-file FILE       write the bound port number to FILE once listening\n"
                "  --mode pull|push       pull (default): poll agents; push: serve the API 3.0\n"
                "                         push routes (sessions, attestations) instead, with\n"
                "                         --interval as the shortest time between evidence\n"
                "  --revocation-pub ENDPOINT  ZeroMQ PUB endpoint for signed revocation notices\n"
                "                         (default " VER_NOTIFIER_DEFAULT_PUB "; \"\" disables)\n"
                "  --revocation-key FILE  RSA key that signs notices\n"
                "                         (RevocationNotifier-private.pem)\n"
                "  --revocation-cert FILE its certificate, checked against the key\n"
                "  --revocation-rest      also POST notices to every agent's\n"
                "                         /v2.x/notifications/revocation\n"
                "add/status/delete options:\n"
                "  --verifier URL         the running verifier (default %s)\n"
                "  --uuid ID              the agent\n"
                "  --agent HOST:PORT      agent address (default: the registrar's record)\n"
                "  --pcr BANK:INDEX:HEX   expected PCR value, repeatable; one bank for all\n"
                "                         (e.g. sha256:23:0000...0000)\n"
                "  --ima-policy FILE      IMA runtime policy (JSON) replayed against PCR 10\n"
                "  --mb-policy FILE       measured-boot policy (JSON) for the UEFI event log\n"
                "  --payload PATH         tenant role: deliver PATH (a file as is, a directory\n"
                "                         zipped) encrypted under a new bootstrap key K; U goes\n"
                "                         to the agent now, V to the verifier, which releases it\n"
                "                         after the first good quote; then /keys/verify checks\n"
                "                         K. Needs --registrar, --client-cert, --client-key\n"
                "  --key FILE             with --payload: K, U, V as three base64 lines\n"
                "  --revocation-cert FILE with a directory --payload: include FILE as\n"
                "                         RevocationNotifier-cert.crt, the certificate the agent\n"
                "                         verifies revocation notices with (as upstream's --cert)\n"
                "common:\n"
                "  --log-level LEVEL      error, warn, info (default) or debug\n"
                "  --version              print the version and exit\n"
                "  --help                 show this help and exit\n"
                "\n"
                "serve runs until SIGINT or SIGTERM. See proto-docs/verifier-stub.md.\n",
                DEFAULT_LISTEN, DEFAULT_DB, DEFAULT_VERIFIER);
}

static int serve(const struct options *o)
{
        struct kl_http_server_options hopts = {0};
        struct ver_poller_config pcfg = {0};
        struct kl_http_server *srv = NULL;
        struct ver_poller *poller = NULL;
        struct ver_push *push = NULL;
        struct ver_push_config push_cfg = {0};
        struct ver_notifier *notifier = NULL;
        struct ver_notifier_config ncfg = o->revocation;
        struct ver_store *store = NULL;
        struct ver_api api = {0};
        const char *tmpbase = getenv("TMPDIR");
        char tmp_dir[4096] = "";
        char host[256];
        uint16_t port = 0;
        sigset_t mask;
        int sig = 0;
        int ret = 1;

        if (kl_parse_host_port(o->listen, host, sizeof(host), &port) < 0) {
                fprintf(stderr, "invalid --listen '%s' (expected HOST:PORT or [V6]:PORT)\n",
                        o->listen);
                return 2;
        }
        if ((o->client_cert == NULL) != (o->client_key == NULL)) {
                fprintf(stderr, "--client-cert and --client-key go together\n");
                return 2;
        }
        if (o->client_cert != NULL &&
            (access(o->client_cert, R_OK) != 0 || access(o->client_key, R_OK) != 0)) {
                fprintf(stderr, "cannot read --client-cert/--client-key: %s\n", strerror(errno));
                return 2;
        }
        if (snprintf(tmp_dir, sizeof(tmp_dir), "%s/kl-verifier.XXXXXX",
                     tmpbase != NULL && tmpbase[0] != '\0' ? tmpbase : "/tmp") >=
            (int)sizeof(tmp_dir)) {
                fprintf(stderr, "TMPDIR too long\n");
                return 2;
        }

        /* Before any thread exists, so every later thread inherits the mask. */
        if (kl_signals_block(&mask) < 0) {
                log_error("pthread_sigmask failed");
                return 1;
        }
        if (mkdtemp(tmp_dir) == NULL) {
                log_error("cannot create a private temporary directory: %s", strerror(errno));
                tmp_dir[0] = '\0';
                goto out;
        }
        if (kl_http_client_global_init() < 0) {
                log_error("curl_global_init failed");
                goto out;
        }
        if (ver_store_open(o->db, &store) < 0)
                goto out;
        api.store = store;
        api.registrar_url = o->registrar;
        api.timeout_ms = 10000;

        hopts.host = host;
        hopts.port = port;
        hopts.max_body = MAX_BODY;
        hopts.threads = 2;
        hopts.per_ip_limit = 64;
        pcfg.interval_ms = o->interval_ms;
        pcfg.max_retries = o->max_retries;
        pcfg.timeout_ms = 10000;
        pcfg.client_cert = o->client_cert;
        pcfg.client_key = o->client_key;
        pcfg.tmp_dir = tmp_dir;
        ncfg.client_cert = o->client_cert;
        ncfg.client_key = o->client_key;
        ncfg.timeout_ms = 10000;
        ncfg.tmp_dir = tmp_dir;
        if (ver_notifier_start(store, &ncfg, &notifier) < 0)
                goto out;
        pcfg.notifier = notifier;
        push_cfg = (struct ver_push_config){.interval_ms = o->interval_ms, .notifier = notifier};
        if (o->push && ver_push_new(store, &push_cfg, &push) < 0)
                goto out;
        api.push = push; /* before the server: its threads only read it */
        if (kl_http_server_start(&hopts, ver_api_handle, &api, &srv) < 0)
                goto out;
        if (!o->push && ver_poller_start(store, &pcfg, &poller) < 0) {
                log_error("cannot start the poller thread");
                goto out;
        }
        log_info("listening on %s port %u (db %s, registrar %s, interval %u ms)", host,
                 (unsigned)kl_http_server_port(srv), o->db,
                 o->registrar != NULL ? o->registrar : "none", o->interval_ms);
        if (o->port_file != NULL &&
            kl_write_port_file(o->port_file, kl_http_server_port(srv)) < 0) {
                log_error("cannot write port file '%s': %s", o->port_file, strerror(errno));
                goto out;
        }
        sig = kl_signals_wait(&mask);
        log_info("received %s, shutting down", strsignal(sig));
        ret = 0;
out:
        /* Reverse order: no request or poll may be running when the store goes away. */
        kl_http_server_stop(srv);
        ver_poller_stop(poller); /* removes the pinned certificates it wrote */
        ver_push_free(push);
        ver_notifier_stop(notifier); /* after the poller and push routes, its callers */
        ver_store_close(store);
        if (tmp_dir[0] != '\0' && rmdir(tmp_dir) != 0 && errno != ENOENT)
                log_warn("cannot remove %s: %s; ignoring", tmp_dir, strerror(errno));
        return ret;
}

static int parse_interval(const char *s, unsigned *ret_ms)
{
        char *end = NULL;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0.1 || v > 3600)
                return KL_ERR_INVAL;
        *ret_ms = (unsigned)(v * 1000.0 + 0.5);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
            {"listen", required_argument, NULL, 'l'},
            {"db", required_argument, NULL, 'd'},
            {"registrar", required_argument, NULL, 'r'},
            {"client-cert", required_argument, NULL, 'C'},
            {"client-key", required_argument, NULL, 'K'},
            {"interval", required_argument, NULL, 'i'},
            {"max-retries", required_argument, NULL, 'R'},
            {"port-file", required_argument, NULL, 'p'},
            {"mode", required_argument, NULL, OPT_MODE},
            {"verifier", required_argument, NULL, 'v'},
            {"uuid", required_argument, NULL, 'u'},
            {"agent", required_argument, NULL, 'a'},
            {"pcr", required_argument, NULL, 'P'},
            {"ima-policy", required_argument, NULL, 'I'},
            {"mb-policy", required_argument, NULL, 'M'},
            {"payload", required_argument, NULL, 'Y'},
            {"key", required_argument, NULL, 'k'},
            {"log-level", required_argument, NULL, 'L'},
            {"revocation-pub", required_argument, NULL, OPT_REV_PUB},
            {"revocation-key", required_argument, NULL, OPT_REV_KEY},
            {"revocation-cert", required_argument, NULL, OPT_REV_CERT},
            {"revocation-rest", no_argument, NULL, OPT_REV_REST},
            {"version", no_argument, NULL, 'V'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        struct options o = {
            .listen = DEFAULT_LISTEN,
            .db = DEFAULT_DB,
            .interval_ms = 2000,
            .max_retries = 5,
            .client = {.verifier = DEFAULT_VERIFIER},
            .revocation = {.pub_endpoint = VER_NOTIFIER_DEFAULT_PUB, .pub_optional = true},
        };
        enum kl_log_level level;
        const char *cmd = NULL;
        char *end = NULL;
        unsigned long ul;
        int c;

        kl_log_set_ident("keylime_verifier_stub");
        if (argc >= 2 && argv[1][0] != '-') {
                cmd = argv[1];
                argv++;
                argc--;
        }
        o.client.pcrs = o.pcrs;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (c) {
                case 'l':
                        o.listen = optarg;
                        break;
                case 'd':
                        o.db = optarg;
                        break;
                case 'r':
                        o.registrar = optarg;
                        break;
                case 'C':
                        o.client_cert = optarg;
                        break;
                case 'K':
                        o.client_key = optarg;
                        break;
                case 'i':
                        if (parse_interval(optarg, &o.interval_ms) < 0) {
                                fprintf(stderr, "invalid --interval '%s' (0.1 to 3600 s)\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case 'R':
                        errno = 0;
                        ul = strtoul(optarg, &end, 10);
                        if (errno != 0 || *end != '\0' || optarg[0] == '-' || ul > 100) {
                                fprintf(stderr, "invalid --max-retries '%s' (0-100)\n", optarg);
                                return 2;
                        }
                        o.max_retries = (unsigned)ul;
                        break;
                case 'p':
                        o.port_file = optarg;
                        break;
                case 'v':
                        o.client.verifier = optarg;
                        break;
                case 'u':
                        o.client.uuid = optarg;
                        break;
                case 'a':
                        o.client.agent = optarg;
                        break;
                case 'P':
                        if (o.client.n_pcrs >= MAX_PCRS) {
                                fprintf(stderr, "too many --pcr (at most %d)\n", MAX_PCRS);
                                return 2;
                        }
                        o.pcrs[o.client.n_pcrs++] = optarg;
                        break;
                case 'I':
                        o.client.ima_policy_file = optarg;
                        break;
                case 'M':
                        o.client.mb_policy_file = optarg;
                        break;
                case 'Y':
                        o.client.payload = optarg;
                        break;
                case 'k':
                        o.client.key_file = optarg;
                        break;
                case 'L':
                        if (!kl_log_level_parse(optarg, &level)) {
                                fprintf(stderr, "unknown log level '%s'\n", optarg);
                                return 2;
                        }
                        kl_log_set_level(level);
                        break;
                case OPT_REV_PUB:
                        o.revocation.pub_endpoint = optarg;
                        o.revocation.pub_optional = false; /* asked for: must work */
                        break;
                case OPT_REV_KEY:
                        o.revocation.key_file = optarg;
                        break;
                case OPT_REV_CERT:
                        o.revocation.cert_file = optarg;
                        break;
                case OPT_MODE:
                        if (strcmp(optarg, "push") != 0 && strcmp(optarg, "pull") != 0) {
                                fprintf(stderr, "invalid --mode '%s' (pull or push)\n", optarg);
                                return 2;
                        }
                        o.push = strcmp(optarg, "push") == 0;
                        break;
                case OPT_REV_REST:
                        o.revocation.rest = true;
                        break;
                case 'V':
                        printf("keylime_verifier_stub %s (verifier API %s)\n", KL_VERSION,
                               VER_API_CURRENT_VERSION);
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind != argc || cmd == NULL) {
                usage(stderr);
                return 2;
        }
        if (strcmp(cmd, "serve") == 0)
                return serve(&o);
        if (kl_http_client_global_init() < 0)
                return 1;
        o.client.registrar = o.registrar;
        o.client.revocation_cert = o.revocation.cert_file;
        o.client.client_cert = o.client_cert;
        o.client.client_key = o.client_key;
        if (strcmp(cmd, "add") == 0)
                return ver_client_add(&o.client);
        if (strcmp(cmd, "status") == 0)
                return ver_client_status(&o.client);
        if (strcmp(cmd, "delete") == 0)
                return ver_client_delete(&o.client);
        fprintf(stderr, "unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
}
