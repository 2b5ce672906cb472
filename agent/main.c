/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keylime_agent: a Keylime-compatible TPM 2.0 attestation agent.
 * Lifecycle only: options, configuration, TPM, identity, registration.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "api.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "http_client.h"
#include "http_server.h"
#include "identity.h"
#include "ima_log.h"
#include "keys.h"
#include "log.h"
#include "nk.h"
#include "notify.h"
#include "payload.h"
#include "preflight.h"
#include "privileges.h"
#include "push.h"
#include "registration.h"
#include "revocation.h"
#include "sealed_use.h"
#include "secure_mount.h"
#include "server_cert.h"
#include "tls_key.h"
#include "tpm.h"

struct agent_options {
        bool register_only;
        bool check;              /* --check: preflight only */
        const char *check_ek_ca; /* --check-ek-ca DIR */
        const char *unseal;      /* --unseal NAME */
        const char *sign;        /* --sign NAME */
        const char *in_file;     /* --in FILE */
        const char *out_file;    /* --out FILE */
};

/* One row per option (cli.h); --log-level, --help and --version are common. */
static const struct kl_cli_option agent_cli[] = {
    {.name = "register-only",
     .help = "exit 0 once the registrar marked the agent active",
     .group = "Options:",
     .kind = KL_CLI_FLAG,
     .offset = offsetof(struct agent_options, register_only)},
    {.name = "check",
     .help = "check configuration, TPM, EK, logs and registrar,\n"
             "print one line per check, do not register",
     .kind = KL_CLI_FLAG,
     .offset = offsetof(struct agent_options, check)},
    {.name = "check-ek-ca",
     .arg = "DIR",
     .help = "with --check: verify the EK certificate against the\n"
             "CA certificates in DIR",
     .kind = KL_CLI_STRING,
     .offset = offsetof(struct agent_options, check_ek_ca)},
    {.name = "unseal",
     .arg = "NAME",
     .help = "unseal the sealed AES key NAME (POST /keys/sealed) into\n"
             "<keylime_dir>/secure/unsealed/NAME; the TPM refuses\n"
             "unless its PCRs hold the values it was sealed to",
     .group = "Sealed objects:",
     .kind = KL_CLI_STRING,
     .offset = offsetof(struct agent_options, unseal)},
    {.name = "sign",
     .arg = "NAME",
     .help = "sign --in FILE (RSASSA-PKCS1-v1_5, SHA-256) with the\n"
             "sealed RSA key NAME, the signature to --out FILE",
     .kind = KL_CLI_STRING,
     .offset = offsetof(struct agent_options, sign)},
    {.name = "in",
     .arg = "FILE",
     .help = "with --sign: the data to sign",
     .kind = KL_CLI_STRING,
     .offset = offsetof(struct agent_options, in_file)},
    {.name = "out",
     .arg = "FILE",
     .help = "with --sign: where the signature goes",
     .kind = KL_CLI_STRING,
     .offset = offsetof(struct agent_options, out_file)},
};

static const struct kl_cli_program agent_program = {
    .name = "keylime_agent",
    .synopsis = "[OPTIONS]",
    .about = "Keylime-compatible TPM 2.0 attestation agent. Reads the Keylime agent\n"
             "configuration (/etc/keylime/agent.conf and agent.conf.d/, or the file named\n"
             "by KEYLIME_AGENT_CONFIG; KEYLIME_AGENT_<OPTION> variables override it), opens\n"
             "the TPM named by the TCTI variable (default device:/dev/tpmrm0), registers\n"
             "with the registrar and activates its attestation key.",
    .version = "keylime_agent " KL_VERSION,
    .man_page = "keylime_agent(8) and keylime-agent.conf(5)",
    .log_level_env = "KEYLIME_LOG_LEVEL",
    .options = agent_cli,
    .n_options = sizeof(agent_cli) / sizeof(agent_cli[0]),
};

static void report_unsupported(const struct kl_agent_config *cfg)
{
        const char *names[64];
        char list[1024] = "";
        size_t n = kl_agent_config_unsupported(cfg, names, 64), off = 0;

        for (size_t i = 0; i < n; i++) {
                int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", names[i]);

                if (w < 0 || (size_t)w >= sizeof(list) - off)
                        break;
                off += (size_t)w;
        }
        if (n > 0)
                log_warn("not supported by this agent yet, ignored: %s", list);
}

/*
 * Blocks the termination signals (before the server's threads start, so they
 * inherit the mask) and returns a signalfd for them.
 */
static int block_signals(void)
{
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0)
                return -1;
        return signalfd(-1, &mask, SFD_CLOEXEC);
}

/* What the API needs besides the TPM: enabled versions, NK, IMA log (opened while root). */
static int agent_init(struct agent *a, const struct kl_agent_config *cfg)
{
        int r;

        if ((r = pthread_mutex_init(&a->tpm_lock, NULL)) != 0)
                return KL_ERR_SYSTEM;
        a->cfg = cfg; /* from here on agent_fini destroys the lock */
        if ((r = registration_enabled_versions(cfg->api_versions, a->versions, AGENT_MAX_VERSIONS,
                                               &a->n_versions)) < 0 ||
            (r = nk_load_or_create(a)) < 0)
                return r;
        /* securityfs files are root-only: open them now, read them after the drop. */
        a->mb_fd = open(cfg->measuredboot_ml_path, O_RDONLY | O_CLOEXEC);
        if (a->mb_fd < 0)
                log_info("no measured boot log at %s (%s); quotes will carry none",
                         cfg->measuredboot_ml_path, strerror(errno));
        r = kl_ima_log_open(cfg->ima_ml_path, &a->ima);
        if (r == KL_ERR_NOT_FOUND)
                log_info("no IMA log at %s; quotes will carry no IMA list", cfg->ima_ml_path);
        else if (r < 0)
                log_warn("cannot open the IMA log %s: %s; quotes will carry no IMA list",
                         cfg->ima_ml_path, kl_err_str(r));
        return 0;
}

static void agent_fini(struct agent *a)
{
        payload_worker_stop(a->payload); /* kills a running payload script */
        keys_state_free(a->keys);
        if (a->mb_fd >= 0)
                close(a->mb_fd);
        kl_ima_log_free(a->ima);
        kl_pkey_free(a->nk);
        free(a->nk_pem);
        certified_key_free(a->tls_key);
        if (a->cfg != NULL)
                pthread_mutex_destroy(&a->tpm_lock);
}

/*
 * The certificate the agent serves and registers: the CA-issued one of its
 * TPM key (certified_server_key, kept in *ret_key), or the self-signed one.
 */
static int mtls_identity(const struct kl_agent_config *cfg, const char *agent_id,
                         struct certified_key **ret_key, char **ret_cert_pem)
{
        int r;

        if (cfg->certified_server_key[0] == '\0')
                return server_cert_load_or_create(cfg, agent_id, ret_cert_pem);
        if ((r = tls_key_load(cfg, ret_key)) < 0)
                return r;
        if ((*ret_cert_pem = strdup((*ret_key)->cert_pem)) == NULL)
                return KL_ERR_NOMEM;
        log_info("TLS server key: '%s' in the TPM, with its CA-issued certificate",
                 (*ret_key)->name);
        return 0;
}

/* Serves the API (and processes payloads) until SIGINT or SIGTERM arrives on sfd. */
static int serve(struct agent *a, const struct payload_opts *po, int sfd)
{
        struct kl_http_server *srv = NULL;
        struct signalfd_siginfo si;
        struct pollfd pfd = {.fd = sfd, .events = POLLIN};
        int r;

        /* signals are blocked since main's start: no thread can take SIGTERM and die */
        if ((r = payload_worker_start(po, &a->payload)) < 0) {
                log_error("cannot start the payload worker");
                goto out;
        }
        if ((r = revocation_agent_start(a, po->secure_dir)) < 0)
                goto out;
        if ((r = api_start(a, &srv)) < 0)
                goto out;
        kl_notify_ready("registered and activated as %s; serving the agent API on %s:%u",
                        a->agent_id, a->cfg->ip, (unsigned)a->cfg->port);
        /* the watchdog is fed while we wait: the API runs in the server's threads */
        (void)kl_notify_poll(&pfd, 1, -1);
        while (read(sfd, &si, sizeof(si)) < 0 && errno == EINTR)
                ;
        kl_notify_stopping();
        log_info("received signal %u, shutting down", si.ssi_signo);
        if (atomic_load(&a->tpm_lost))
                r = KL_ERR_TPM_LOST;
out:
        kl_http_server_stop(srv);
        revocation_agent_stop(a); /* after the server: REST handlers submit to it */
        return r;
}

int main(int argc, char **argv)
{
        struct agent_options opts = {0};
        struct kl_cli *cli = NULL;
        struct kl_agent_config *cfg = NULL;
        struct kl_tpm *tpm = NULL;
        struct agent_identity id = {0};
        struct agent agent = {.mb_fd = -1};
        struct kl_tpm_options tpm_opts;
        struct stat st;
        char *mtls_cert = NULL;
        struct certified_key *tls_key = NULL;
        char secure_dir[4096] = "";
        struct payload_opts payload_opts;
        char why[512] = "";
        int r, sfd = -1, status = 1;
        bool push;

        kl_log_set_ident("keylime_agent");
        switch (kl_cli_parse(&agent_program, argc, argv, &opts, &cli)) {
        case KL_CLI_RUN:
                break;
        case KL_CLI_EXIT:
                return 0;
        case KL_CLI_USAGE:
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        /* Before any thread: a stop request becomes an event (signalfd), so the
         * TPM objects are flushed on every way out, registration retries included. */
        if ((sfd = block_signals()) < 0) {
                log_error("cannot block signals: %s", strerror(errno));
                goto out;
        }
        if (kl_agent_config_load(NULL, &cfg) < 0) {
                log_error("invalid configuration; not starting");
                goto out;
        }
        for (size_t i = 0; i < cfg->n_sources; i++)
                log_info("configuration loaded from %s", cfg->sources[i]);
        report_unsupported(cfg);
        push = push_mode_selected(argv[0], cfg); /* no server, no payloads: see push.h */
        if (opts.unseal != NULL || opts.sign != NULL) {
                setenv("TSS2_LOG", "all+none", 0); /* refusals are reported in our words */
                status = opts.unseal != NULL
                             ? sealed_use_unseal(cfg, opts.unseal)
                             : sealed_use_sign(cfg, opts.sign, opts.in_file, opts.out_file);
                goto out;
        }
        if (opts.check) {
                setenv("TSS2_LOG", "all+none", 0); /* --check prints its own TPM lines */
                if (kl_http_client_global_init() == 0)
                        status = preflight_run(cfg, opts.check_ek_ca);
                goto out;
        }
        /* As upstream: without mTLS anyone on the network could deliver a payload to run. */
        if (!push && !cfg->enable_agent_mtls && cfg->payload_script[0] != '\0' &&
            !cfg->enable_insecure_payload) {
                log_error("enable_agent_mtls is false and payload_script is set: payloads would "
                          "run without client authentication; set payload_script = \"\" or "
                          "enable_insecure_payload = true");
                goto out;
        }
        if (stat(cfg->keylime_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
                log_error("keylime_dir %s does not exist or is not a directory", cfg->keylime_dir);
                goto out;
        }
        if (kl_http_client_global_init() < 0) {
                log_error("cannot initialise libcurl");
                goto out;
        }

        /* tpm2-tss logs expected failures (an absent NV index) to stderr itself; we
         * translate every TSS error once, so keep its own log quiet unless asked. */
        setenv("TSS2_LOG", "all+none", 0);
        kl_notify_status("opening the TPM");
        tpm_opts = identity_tpm_options(cfg);
        tpm_opts.flush_leftovers = true;
        if (kl_tpm_open(&tpm_opts, &tpm, why, sizeof(why)) < 0) {
                log_error("%s", why);
                goto out;
        }
        log_info("TPM opened via %s", kl_tpm_tcti(tpm));
        kl_notify_status("loading the TPM identity (EK, AK)");
        if ((r = identity_load(tpm, cfg, &id)) < 0) {
                log_error("cannot establish the TPM identity: %s", kl_err_str(r));
                goto out;
        }
        log_info("agent ID %s", id.agent_id);
        if (cfg->enable_agent_mtls && !push &&
            mtls_identity(cfg, id.agent_id, &tls_key, &mtls_cert) < 0)
                goto out;
        if (agent_init(&agent, cfg) < 0)
                goto out;
        agent.tls_key = tls_key;
        tls_key = NULL;
        agent.tpm = tpm;
        snprintf(agent.agent_id, sizeof(agent.agent_id), "%s", id.agent_id);
        if (keys_state_new(agent.agent_id, &agent.keys) < 0)
                goto out;
        agent.payload_allowed = cfg->enable_agent_mtls || cfg->enable_insecure_payload;
        /* The tmpfs needs root: before the drop, and only when we will serve. */
        if (!opts.register_only && !push &&
            secure_mount_setup(cfg, secure_dir, sizeof(secure_dir)) < 0)
                goto out;
        /* TPM open, identity and keys written: leave root before the network (STYLE §6) */
        if (privileges_chown_dir(cfg->run_as, cfg->keylime_dir) < 0 ||
            privileges_drop(cfg->run_as) < 0)
                goto out;
        if ((r = registration_run(tpm, cfg, &id, mtls_cert, sfd)) < 0) {
                if (r == KL_ERR_CANCELED)
                        log_info("stopped before the registrar answered");
                goto out;
        }
        /* As upstream: a transient EK is only needed for activation. */
        (void)kl_tpm_ek_flush(tpm);
        payload_opts = (struct payload_opts){
            .secure_dir = secure_dir,
            .enc_keyname = cfg->enc_keyname,
            .dec_payload_file = cfg->dec_payload_file,
            .extract_zip = cfg->extract_payload_zip,
            .script = cfg->payload_script,
            .script_timeout_s = PAYLOAD_SCRIPT_TIMEOUT_S,
        };
        payload_limits_default(&payload_opts.lim, secure_mount_size_bytes(cfg->secure_size));
        if (!opts.register_only &&
            (push ? push_run(&agent, &id, sfd) : serve(&agent, &payload_opts, sfd)) < 0)
                goto out;
        status = 0;
out:
        if (sfd >= 0)
                close(sfd);
        agent_fini(&agent);
        free(mtls_cert);
        certified_key_free(tls_key);
        identity_clear(&id);
        kl_tpm_free(tpm);
        kl_agent_config_free(cfg);
        kl_cli_free(cli);
        return status;
}
