/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keylime_verifier_stub: keeps attesting Keylime agents (pull model) and
 * flags the first quote, IMA entry or boot event log that no longer matches
 * its policy. Lifecycle only: options, subcommands, database, HTTP server,
 * poller thread, signals. Signals are blocked before any thread starts and
 * read synchronously here, so no handler ever runs in signal context.
 * One job past 600 lines: a third of it is the one option table all the
 * subcommands (serve, add, status, delete, seal, certify) share, the rest
 * serve's lifecycle; what the subcommands do lives in their own files.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "certify.h"
#include "cli.h"
#include "client.h"
#include "err.h"
#include "http_client.h"
#include "http_server.h"
#include "log.h"
#include "notifier.h"
#include "notify.h"
#include "poller.h"
#include "push_api.h"
#include "seal.h"
#include "service.h"
#include "store.h"
#include "tls_files.h"

#define DEFAULT_LISTEN   "127.0.0.1:8881"
#define DEFAULT_DB       "./verifier.sqlite"
#define DEFAULT_VERIFIER "https://127.0.0.1:8881"
#define MAX_BODY         (8 * 1024 * 1024) /* policies travel in the add request */
#define MAX_PCRS         64

struct options {
        const char *listen;
        const char *db;
        const char *registrar;
        const char *client_cert;
        const char *client_key;
        const char *tls_cert; /* the API's server certificate and key */
        const char *tls_key;
        const char *ca; /* the verifier/tenant CA: API clients, registrar, verifier */
        const char *port_file;
        const char *push_listen; /* push mode: the agents' listener (TLS, no client certs) */
        const char *push_port_file;
        bool push; /* --mode push: agents push evidence (API 3.0), nothing is polled */
        struct ver_notifier_config revocation; /* --revocation-* */
        unsigned interval_ms;
        unsigned max_retries;
        struct ver_client_options client;
        const char *pcrs[MAX_PCRS];
        struct ver_seal_options seal;
        struct ver_certify_options certify;
};

/* What serve needs from the command line, checked before anything starts. */
static int check_serve_options(const struct options *o, char *host, size_t host_len,
                               uint16_t *ret_port)
{
        if (kl_parse_host_port(o->listen, host, host_len, ret_port) < 0) {
                fprintf(stderr, "invalid --listen '%s' (expected HOST:PORT or [V6]:PORT)\n",
                        o->listen);
                return -1;
        }
        if (o->push && o->push_listen == NULL) {
                fprintf(stderr, "--mode push needs --push-listen (agents have no client "
                                "certificate for the mTLS API)\n");
                return -1;
        }
        if ((o->client_cert == NULL) != (o->client_key == NULL)) {
                fprintf(stderr, "--client-cert and --client-key go together\n");
                return -1;
        }
        if (o->client_cert != NULL &&
            (access(o->client_cert, R_OK) != 0 || access(o->client_key, R_OK) != 0)) {
                fprintf(stderr, "cannot read --client-cert/--client-key: %s\n", strerror(errno));
                return -1;
        }
        return 0;
}

/* A private directory under $TMPDIR for the agents' pinned certificates. */
static int make_private_tmp(char *dir, size_t len)
{
        const char *tmpbase = getenv("TMPDIR");
        int n = snprintf(dir, len, "%s/kl-verifier.XXXXXX",
                         tmpbase != NULL && tmpbase[0] != '\0' ? tmpbase : "/tmp");

        if (n < 0 || (size_t)n >= len) {
                log_error("TMPDIR too long");
                dir[0] = '\0';
                return -1;
        }
        if (mkdtemp(dir) == NULL) {
                log_error("cannot create a private temporary directory: %s", strerror(errno));
                dir[0] = '\0';
                return -1;
        }
        return 0;
}

/*
 * The REST API on host:port over the store. Every route changes or reveals
 * what is attested, so it is mTLS only: clients need a certificate from --ca.
 */
static int start_api(const struct options *o, const char *host, uint16_t port, struct ver_api *api,
                     struct kl_http_server **ret_srv)
{
        struct kl_http_server_options hopts = {
            .host = host,
            .port = port,
            .max_body = MAX_BODY,
            .threads = 2,
            .per_ip_limit = 64,
        };
        struct kl_tls_files tls;
        int r;

        /* libmicrohttpd hands the PEM text to GnuTLS at start: freed right after */
        if ((r = kl_tls_files_load(&tls, o->tls_cert, o->tls_key, o->ca, &hopts)) == 0)
                r = kl_http_server_start(&hopts, ver_api_handle, api, ret_srv);
        kl_tls_files_clear(&tls);
        return r;
}

/*
 * Push mode: the agents' listener. Agents have no certificate from --ca and
 * authenticate with their TPM (push_api.h), so this TLS listener asks for no
 * client certificate and serves the push routes only.
 */
static int start_push_api(const struct options *o, struct ver_api *api,
                          struct kl_http_server **ret_srv)
{
        struct kl_http_server_options hopts = {
            .max_body = MAX_BODY,
            .threads = 2,
            .per_ip_limit = 64,
        };
        struct kl_tls_files tls;
        char host[256];
        int r;

        if (kl_parse_host_port(o->push_listen, host, sizeof(host), &hopts.port) < 0) {
                log_error("invalid --push-listen '%s' (expected HOST:PORT or [V6]:PORT)",
                          o->push_listen);
                return KL_ERR_CONFIG;
        }
        hopts.host = host;
        if ((r = kl_tls_files_load(&tls, o->tls_cert, o->tls_key, o->ca, &hopts)) == 0) {
                hopts.tls_client_ca_pem = NULL; /* server authentication only */
                r = kl_http_server_start(&hopts, ver_api_handle_push, api, ret_srv);
        }
        kl_tls_files_clear(&tls);
        if (r < 0)
                return r;
        log_info("push agents' listener on %s port %u", host,
                 (unsigned)kl_http_server_port(*ret_srv));
        if (o->push_port_file != NULL &&
            kl_write_port_file(o->push_port_file, kl_http_server_port(*ret_srv)) < 0) {
                log_error("cannot write port file '%s': %s", o->push_port_file, strerror(errno));
                return KL_ERR_IO;
        }
        return 0;
}

/* The notifier (revocation notices) and what feeds it: the poller, or the push routes. */
static int start_attestation(const struct options *o, struct ver_store *store, const char *tmp_dir,
                             struct ver_notifier **ret_notifier, struct ver_poller **ret_poller,
                             struct ver_push **ret_push)
{
        struct ver_notifier_config ncfg = o->revocation;
        struct ver_poller_config pcfg = {
            .interval_ms = o->interval_ms,
            .max_retries = o->max_retries,
            .timeout_ms = 10000,
            .client_cert = o->client_cert,
            .client_key = o->client_key,
            .tmp_dir = tmp_dir,
        };

        ncfg.client_cert = o->client_cert;
        ncfg.client_key = o->client_key;
        ncfg.timeout_ms = 10000;
        ncfg.tmp_dir = tmp_dir;
        if (ver_notifier_start(store, &ncfg, ret_notifier) < 0)
                return -1;
        pcfg.notifier = *ret_notifier;
        if (o->push) {
                struct ver_push_config push = {.interval_ms = o->interval_ms,
                                               .notifier = *ret_notifier};

                return ver_push_new(store, &push, ret_push) < 0 ? -1 : 0;
        }
        if (ver_poller_start(store, &pcfg, ret_poller) < 0) {
                log_error("cannot start the poller thread");
                return -1;
        }
        return 0;
}

static int serve(const struct options *o)
{
        struct kl_http_server *srv = NULL;
        struct kl_http_server *push_srv = NULL;
        struct ver_poller *poller = NULL;
        struct ver_push *push = NULL;
        struct ver_notifier *notifier = NULL;
        struct ver_store *store = NULL;
        struct ver_api api = {0};
        char tmp_dir[4096] = "";
        char host[256];
        uint16_t port = 0;
        sigset_t mask;
        int sig = 0;
        int ret = 1;

        if (check_serve_options(o, host, sizeof(host), &port) < 0)
                return 2;
        /* Before any thread exists, so every later thread inherits the mask. */
        if (kl_signals_block(&mask) < 0) {
                log_error("pthread_sigmask failed");
                return 1;
        }
        if (make_private_tmp(tmp_dir, sizeof(tmp_dir)) < 0)
                goto out;
        if (kl_http_client_global_init() < 0) {
                log_error("curl_global_init failed");
                goto out;
        }
        if (ver_store_open(o->db, &store) < 0)
                goto out;
        api.store = store;
        api.registrar_url = o->registrar;
        api.registrar_tls = (struct kl_http_tls){
            .ca_file = o->ca, .cert_file = o->client_cert, .key_file = o->client_key};
        api.timeout_ms = 10000;
        if (start_attestation(o, store, tmp_dir, &notifier, &poller, &push) < 0)
                goto out;
        api.push = push; /* before the server: its threads only read it */
        if (start_api(o, host, port, &api, &srv) < 0 ||
            (o->push && start_push_api(o, &api, &push_srv) < 0))
                goto out;
        log_info("listening on %s port %u (db %s, registrar %s, interval %u ms)", host,
                 (unsigned)kl_http_server_port(srv), o->db,
                 o->registrar != NULL ? o->registrar : "none", o->interval_ms);
        if (o->port_file != NULL &&
            kl_write_port_file(o->port_file, kl_http_server_port(srv)) < 0) {
                log_error("cannot write port file '%s': %s", o->port_file, strerror(errno));
                goto out;
        }
        kl_notify_ready("verifier API %s on %s port %u, attesting every %u ms",
                        VER_API_CURRENT_VERSION, host, (unsigned)kl_http_server_port(srv),
                        o->interval_ms);
        sig = kl_notify_wait_signal(&mask);
        kl_notify_stopping();
        log_info("received %s, shutting down", strsignal(sig));
        ret = 0;
out:
        /* Reverse order: no request or poll may be running when the store goes away. */
        kl_http_server_stop(push_srv);
        kl_http_server_stop(srv);
        ver_poller_stop(poller); /* removes the pinned certificates it wrote */
        ver_push_free(push);
        ver_notifier_stop(notifier); /* after the poller and push routes, its callers */
        ver_store_close(store);
        if (tmp_dir[0] != '\0' && rmdir(tmp_dir) != 0 && errno != ENOENT)
                log_warn("cannot remove %s: %s; ignoring", tmp_dir, strerror(errno));
        return ret;
}

static const char *parse_mode(const char *s, void *opts)
{
        struct options *o = opts;

        if (strcmp(s, "push") != 0 && strcmp(s, "pull") != 0)
                return "expected pull or push";
        o->push = strcmp(s, "push") == 0;
        return NULL;
}

static const char *parse_interval(const char *s, void *opts)
{
        struct options *o = opts;
        char *end = NULL;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0.1 || v > 3600)
                return "0.1 to 3600 s";
        o->interval_ms = (unsigned)(v * 1000.0 + 0.5);
        return NULL;
}

static const char *parse_max_retries(const char *s, void *opts)
{
        struct options *o = opts;
        char *end = NULL;
        unsigned long ul;

        errno = 0;
        ul = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || ul > 100)
                return "0-100";
        o->max_retries = (unsigned)ul;
        return NULL;
}

static const char *parse_revocation_pub(const char *s, void *opts)
{
        struct options *o = opts;

        o->revocation.pub_endpoint = s;
        o->revocation.pub_optional = false; /* asked for: must work */
        return NULL;
}

static const char *parse_pcr(const char *s, void *opts)
{
        struct options *o = opts;

        if (o->client.n_pcrs >= MAX_PCRS)
                return "at most 64 --pcr";
        o->pcrs[o->client.n_pcrs++] = s;
        return NULL;
}

#define OPT(field) offsetof(struct options, field)

/* One row per option (cli.h); --config, --log-level, --help, --version are common. */
static const struct kl_cli_option verifier_cli[] = {
    {.name = "listen",
     .arg = "HOST:PORT",
     .group = "serve options:",
     .kind = KL_CLI_STRING,
     .offset = OPT(listen),
     .help = "REST API address (default " DEFAULT_LISTEN "); port 0 picks one;\n"
             "HTTPS only, clients need a certificate from --ca"},
    {.name = "tls-cert",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(tls_cert),
     .help = "the API's server certificate (PEM)"},
    {.name = "tls-key",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(tls_key),
     .help = "its private key"},
    {.name = "db",
     .arg = "PATH",
     .kind = KL_CLI_STRING,
     .offset = OPT(db),
     .help = "SQLite database (default " DEFAULT_DB ")"},
    {.name = "registrar",
     .arg = "URL",
     .kind = KL_CLI_STRING,
     .offset = OPT(registrar),
     .help = "the registrar's mTLS listener, for agents' AK and mTLS\n"
             "certificate, e.g. https://127.0.0.1:8891"},
    {.name = "client-cert",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(client_cert),
     .help = "client certificate shown to agents, the registrar and\n"
             "(add/status/delete) the verifier"},
    {.name = "client-key",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(client_key),
     .help = "its private key"},
    {.name = "interval",
     .arg = "SECONDS",
     .kind = KL_CLI_PARSE,
     .parse = parse_interval,
     .help = "time between quotes of one agent (default 2)"},
    {.name = "max-retries",
     .arg = "N",
     .kind = KL_CLI_PARSE,
     .parse = parse_max_retries,
     .help = "retries on timeouts/500/unreachable before \"Failed\"\n"
             "(default 5, back-off doubling up to 16 intervals)"},
    {.name = "mode",
     .arg = "pull|push",
     .kind = KL_CLI_PARSE,
     .parse = parse_mode,
     .help = "pull (default): poll agents; push: serve the API 3.0 push routes\n"
             "(sessions, attestations) instead, --interval being the shortest\n"
             "time between one agent's evidence"},
    {.name = "push-listen",
     .arg = "HOST:PORT",
     .kind = KL_CLI_STRING,
     .offset = OPT(push_listen),
     .help = "push mode: the agents' HTTPS listener (--tls-cert, no client\n"
             "certificates; push routes only). Required with --mode push"},
    {.name = "push-port-file",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(push_port_file),
     .help = "write the push listener's port to FILE"},
    {.name = "port-file",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(port_file),
     .help = "write the bound port number to FILE once listening"},
    {.name = "revocation-pub",
     .arg = "ENDPOINT",
     .kind = KL_CLI_PARSE,
     .parse = parse_revocation_pub,
     .help = "ZeroMQ PUB endpoint for signed revocation notices\n"
             "(default " VER_NOTIFIER_DEFAULT_PUB "; \"\" disables)"},
    {.name = "revocation-key",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(revocation.key_file),
     .help = "RSA key that signs notices\n(RevocationNotifier-private.pem)"},
    {.name = "revocation-cert",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(revocation.cert_file),
     .help = "its certificate, checked against the key; with a\n"
             "directory --payload: included as RevocationNotifier-cert.crt,\n"
             "the certificate the agent verifies notices with"},
    {.name = "revocation-rest",
     .kind = KL_CLI_FLAG,
     .offset = OPT(revocation.rest),
     .help = "also POST notices to every agent's\n/v2.x/notifications/revocation"},
    {.name = "verifier",
     .arg = "URL",
     .group = "add/status/delete options:",
     .kind = KL_CLI_STRING,
     .offset = OPT(client.verifier),
     .help = "the running verifier (default " DEFAULT_VERIFIER "),\n"
             "reached with --client-cert/--client-key and --ca"},
    {.name = "ca",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(ca),
     .help = "CA of the verifier/tenant PKI (cacert.crt): serve accepts\n"
             "API clients certified by it; every command checks the\n"
             "verifier's and registrar's server certificates against it"},
    {.name = "uuid",
     .arg = "ID",
     .kind = KL_CLI_STRING,
     .offset = OPT(client.uuid),
     .help = "the agent",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "agent",
     .arg = "HOST:PORT",
     .kind = KL_CLI_STRING,
     .offset = OPT(client.agent),
     .help = "agent address (default: the registrar's record)",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "pcr",
     .arg = "BANK:INDEX:HEX",
     .kind = KL_CLI_PARSE,
     .parse = parse_pcr,
     .help = "expected PCR value, repeatable; one bank for all\n(e.g. sha256:23:0000...0000)",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "ima-policy",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(client.ima_policy_file),
     .help = "IMA runtime policy (JSON) replayed against PCR 10",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "mb-policy",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(client.mb_policy_file),
     .help = "measured-boot policy (JSON) for the UEFI event log",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "payload",
     .arg = "PATH",
     .kind = KL_CLI_STRING,
     .offset = OPT(client.payload),
     .help = "tenant role: deliver PATH (a file as is, a directory\n"
             "zipped) encrypted under a new bootstrap key K; U goes\n"
             "to the agent now, V to the verifier, which releases it\n"
             "after the first good quote; then /keys/verify checks\n"
             "K. Needs --registrar, --client-cert, --client-key",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "key",
     .arg = "FILE",
     .kind = KL_CLI_STRING,
     .offset = OPT(client.key_file),
     .help = "with --payload: K, U, V as three base64 lines",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "aes-key",
     .arg = "FILE",
     .group = "seal options (also --uuid, --registrar, --client-cert/-key, --ca, --db):",
     .kind = KL_CLI_STRING,
     .offset = OPT(seal.aes_key_file),
     .help = "the raw AES key (16, 24 or 32 bytes) to seal",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "rsa-key",
     .arg = "PEM",
     .kind = KL_CLI_STRING,
     .offset = OPT(seal.rsa_key_file),
     .help = "or the RSA-2048 private key to seal",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "pcrs",
     .arg = "LIST",
     .kind = KL_CLI_STRING,
     .offset = OPT(seal.pcrs),
     .help = "PCRs the key is bound to (e.g. 0,7), at their values in\n"
             "the agent's last good quote",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "bank",
     .arg = "HASH",
     .kind = KL_CLI_STRING,
     .offset = OPT(seal.bank),
     .help = "PCR bank (default sha256)",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "name",
     .arg = "NAME",
     .kind = KL_CLI_STRING,
     .offset = OPT(seal.name),
     .help = "the agent's name for the key (seal: default aes or\n"
             "rsa; certify: default certified)",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "out",
     .arg = "FILE",
     .group = "certify options (also --uuid, --registrar, --client-cert/-key, --ca, --name):",
     .kind = KL_CLI_STRING,
     .offset = OPT(certify.out),
     .help = "where the issued certificate (PEM) goes",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "issuer-cert",
     .arg = "PEM",
     .kind = KL_CLI_STRING,
     .offset = OPT(certify.issuer_cert),
     .help = "the CA certificate that issues it"},
    {.name = "issuer-key",
     .arg = "PEM",
     .kind = KL_CLI_STRING,
     .offset = OPT(certify.issuer_key),
     .help = "and that CA's private key"},
    {.name = "subject",
     .arg = "DN",
     .kind = KL_CLI_STRING,
     .offset = OPT(certify.subject),
     .help = "the certificate's subject, /CN=a/O=b or a bare CN\n"
             "(default: the agent's UUID)",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "alg",
     .arg = "ALG",
     .kind = KL_CLI_STRING,
     .offset = OPT(certify.alg),
     .help = "rsa (RSA-2048, default) or ecc (P-256)",
     .flags = KL_CLI_CMDLINE_ONLY},
    {.name = "days",
     .arg = "N",
     .kind = KL_CLI_STRING,
     .offset = OPT(certify.days),
     .help = "validity of the certificate (default 365)",
     .flags = KL_CLI_CMDLINE_ONLY},
};

static const struct kl_cli_program verifier_program = {
    .name = "keylime_verifier_stub",
    .synopsis = "COMMAND [OPTIONS]",
    .about = "Keylime-compatible verifier stub: polls agents for integrity quotes and checks\n"
             "them (AK signature, nonce, PCR digest, clock, PCR 16, PCR policy, IMA and\n"
             "boot event log replay).\n"
             "\n"
             "Commands:\n"
             "  serve    run the verifier: REST API on --listen, poll agents every --interval\n"
             "  add      ask a running verifier to attest --uuid (policy from --pcr,\n"
             "           --ima-policy, --mb-policy; address from --agent or the registrar)\n"
             "  status   print the verifier's view of --uuid as one JSON object\n"
             "  delete   stop attesting --uuid\n"
             "  seal     wrap --aes-key or --rsa-key for --uuid's TPM, bound to --pcrs as\n"
             "           attested in its last good quote, and send it to the agent\n"
             "  certify  have --uuid's TPM create a key its AK certifies, check that, issue\n"
             "           the key a certificate from --issuer-cert into --out",
    .footer = "serve runs until SIGINT or SIGTERM.",
    .version = "keylime_verifier_stub " KL_VERSION " (verifier API " VER_API_CURRENT_VERSION ")",
    .man_page = "keylime_verifier_stub(8)",
    .config_table = "verifier",
    .options = verifier_cli,
    .n_options = sizeof(verifier_cli) / sizeof(verifier_cli[0]),
};

/*
 * add, status and delete talk to a running verifier (client.c); seal reads its
 * store; certify needs only the registrar and the agent.
 */
static int run_client(const char *cmd, struct options *o)
{
        if (kl_http_client_global_init() < 0)
                return 1;
        o->client.registrar = o->registrar;
        o->client.revocation_cert = o->revocation.cert_file;
        o->client.client_cert = o->client_cert;
        o->client.client_key = o->client_key;
        o->client.ca_file = o->ca;
        if (strcmp(cmd, "seal") == 0) {
                o->seal.client = &o->client;
                o->seal.db = o->db;
                return ver_seal(&o->seal);
        }
        if (strcmp(cmd, "certify") == 0) {
                o->certify.client = &o->client;
                o->certify.name = o->seal.name;
                return ver_certify(&o->certify);
        }
        if (strcmp(cmd, "add") == 0)
                return ver_client_add(&o->client);
        if (strcmp(cmd, "status") == 0)
                return ver_client_status(&o->client);
        return ver_client_delete(&o->client);
}

static bool known_command(const char *cmd)
{
        static const char *const commands[] = {"serve",  "add",  "status",
                                               "delete", "seal", "certify"};

        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(cmd, commands[i]) == 0)
                        return true;
        return false;
}

int main(int argc, char **argv)
{
        struct options o = {
            .listen = DEFAULT_LISTEN,
            .db = DEFAULT_DB,
            .interval_ms = 2000,
            .max_retries = 5,
            .client = {.verifier = DEFAULT_VERIFIER},
            .revocation = {.pub_endpoint = VER_NOTIFIER_DEFAULT_PUB, .pub_optional = true},
        };
        struct kl_cli *cli = NULL;
        const char *cmd = NULL;
        int ret;

        kl_log_set_ident("keylime_verifier_stub");
        /* the command comes first; everything after it is options */
        if (argc >= 2 && argv[1][0] != '-') {
                cmd = argv[1];
                argv[1] = argv[0];
                argv++;
                argc--;
        }
        o.client.pcrs = o.pcrs;
        switch (kl_cli_parse(&verifier_program, argc, argv, &o, &cli)) {
        case KL_CLI_RUN:
                break;
        case KL_CLI_EXIT:
                return 0;
        case KL_CLI_USAGE:
                return 2;
        }
        if (cmd == NULL || !known_command(cmd)) {
                if (cmd != NULL)
                        fprintf(stderr, "unknown command '%s'\n", cmd);
                kl_cli_usage(&verifier_program, stderr);
                ret = 2;
        } else if (strcmp(cmd, "serve") == 0) {
                ret = serve(&o);
        } else {
                ret = run_client(cmd, &o);
        }
        kl_cli_free(cli);
        return ret;
}
