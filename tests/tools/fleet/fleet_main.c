/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kl_fleet: options, set-up and the run (see fleet.h). Set-up is in phases so
 * each can be timed: keys, registration at the registrar, adding to the
 * verifier. One libmicrohttpd daemon bound to the wildcard serves every
 * agent and tells them apart by the address a connection was accepted on, so
 * threads stay bounded (--threads) whatever the number of agents.
 *
 *   kl_fleet --agents N --registrar URL [--verifier URL --ca F --client-cert F
 *            --client-key F] [--bad MODE:COUNT]... [--duration S] [--report F]
 *
 * The report (JSON lines): one "agent" object per agent (address, mode, the
 * verifier's state, count and reason, time to flag) and one "summary".
 */
#include "fleet.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "http_server.h"
#include "log.h"
#include "service.h"
#include "uuid.h"

#define MAX_SETUP_THREADS 16
#define CERT_FILE_MAX     (1u << 20)

struct options {
        size_t agents;
        unsigned rsa_every;
        const char *base_ip;
        uint16_t port;
        const char *registrar;
        struct fleet_verifier verifier;
        unsigned bad_count[FLEET_BAD_MODES];
        unsigned bad_after;
        unsigned interval_ms;
        unsigned ima_growth;
        unsigned setup_threads;
        unsigned threads;
        unsigned duration_s;
        unsigned min_quotes;
        unsigned long watch_pid;
        const char *report;
        const char *ready_file;
        bool print_policies;
};

static void usage(FILE *to)
{
        fprintf(to,
                "usage: kl_fleet --agents N --registrar URL [options]\n"
                "  --agents N           simulated agents (1..65000)\n"
                "  --base-ip A.B.C.D    first address (default 127.1.0.1)\n"
                "  --port P             the agents' port on every address (default: a free one)\n"
                "  --rsa-every K        every K-th agent has an RSA-2048 AK (default 8, 0 none)\n"
                "  --registrar URL      the registrar's agent listener (http://host:port)\n"
                "  --verifier URL       a verifier stub to add every agent to (https://...)\n"
                "  --ca F --client-cert F --client-key F\n"
                "                       its PKI; agents accept clients certified by --ca\n"
                "  --bad MODE:COUNT     COUNT agents go bad: wrong-pcr, bad-sig, stale-nonce, "
                "silent\n"
                "  --bad-after K        good quotes before they do (default 2)\n"
                "  --interval S         the verifier's interval, for lateness (default 2)\n"
                "  --ima-growth G       IMA lines added before each quote (default 1)\n"
                "  --setup-threads T    threads for keys, registration, adding (default 2)\n"
                "  --threads T          HTTP worker threads (default 2)\n"
                "  --duration S         run S seconds after set-up (default 0: until SIGTERM)\n"
                "  --min-quotes K       stop once every good agent answered K quotes and\n"
                "                       the verifier flagged every bad one (S caps the wait)\n"
                "  --report F           write the report (JSON lines) to F at the end\n"
                "  --watch-pid PID      report that process's CPU time during the run and RSS\n"
                "  --ready-file F       write \"port\" to F once every agent is added\n"
                "  --print-policies     print the TPM and IMA policies the agents satisfy\n"
                "                       (two JSON lines, the verifier stub's format) and exit\n");
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
        char *end = NULL;
        unsigned long v;

        if (s == NULL || *s < '0' || *s > '9')
                return false;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > max)
                return false;
        *ret = v;
        return true;
}

static bool parse_bad(const char *s, struct options *o)
{
        const char *colon = strchr(s, ':');
        unsigned long n;

        if (colon == NULL || !parse_uint(colon + 1, 65000, &n))
                return false;
        for (unsigned b = FLEET_WRONG_PCR; b < FLEET_BAD_MODES; b++) {
                const char *name = fleet_bad_name((enum fleet_bad)b);

                if (strlen(name) == (size_t)(colon - s) && strncmp(s, name, strlen(name)) == 0) {
                        o->bad_count[b] += (unsigned)n;
                        return true;
                }
        }
        return false;
}

static int parse_options(int argc, char **argv, struct options *o)
{
        static const struct option longopts[] = {
            {"agents", required_argument, NULL, 'n'},
            {"base-ip", required_argument, NULL, 'b'},
            {"port", required_argument, NULL, 'p'},
            {"rsa-every", required_argument, NULL, 'R'},
            {"registrar", required_argument, NULL, 'r'},
            {"verifier", required_argument, NULL, 'v'},
            {"ca", required_argument, NULL, 'c'},
            {"client-cert", required_argument, NULL, 'C'},
            {"client-key", required_argument, NULL, 'K'},
            {"bad", required_argument, NULL, 'x'},
            {"bad-after", required_argument, NULL, 'a'},
            {"interval", required_argument, NULL, 'i'},
            {"ima-growth", required_argument, NULL, 'g'},
            {"setup-threads", required_argument, NULL, 's'},
            {"threads", required_argument, NULL, 't'},
            {"duration", required_argument, NULL, 'd'},
            {"report", required_argument, NULL, 'o'},
            {"min-quotes", required_argument, NULL, 'm'},
            {"watch-pid", required_argument, NULL, 'w'},
            {"ready-file", required_argument, NULL, 'f'},
            {"print-policies", no_argument, NULL, 'P'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        unsigned long v;
        double secs;
        char *end;
        int c;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (c) {
                case 'n':
                        if (!parse_uint(optarg, 65000, &v) || v == 0)
                                return -1;
                        o->agents = v;
                        break;
                case 'b':
                        o->base_ip = optarg;
                        break;
                case 'p':
                        if (!parse_uint(optarg, 65535, &v))
                                return -1;
                        o->port = (uint16_t)v;
                        break;
                case 'R':
                        if (!parse_uint(optarg, 65000, &v))
                                return -1;
                        o->rsa_every = (unsigned)v;
                        break;
                case 'r':
                        o->registrar = optarg;
                        break;
                case 'v':
                        o->verifier.url = optarg;
                        break;
                case 'c':
                        o->verifier.tls.ca_file = optarg;
                        break;
                case 'C':
                        o->verifier.tls.cert_file = optarg;
                        break;
                case 'K':
                        o->verifier.tls.key_file = optarg;
                        break;
                case 'x':
                        if (!parse_bad(optarg, o))
                                return -1;
                        break;
                case 'a':
                        if (!parse_uint(optarg, 100000, &v))
                                return -1;
                        o->bad_after = (unsigned)v;
                        break;
                case 'i':
                        errno = 0;
                        secs = strtod(optarg, &end);
                        if (errno != 0 || *end != '\0' || !(secs >= 0.1 && secs <= 3600))
                                return -1;
                        o->interval_ms = (unsigned)(secs * 1000.0 + 0.5);
                        break;
                case 'g':
                        if (!parse_uint(optarg, 1000, &v))
                                return -1;
                        o->ima_growth = (unsigned)v;
                        break;
                case 's':
                        if (!parse_uint(optarg, MAX_SETUP_THREADS, &v) || v == 0)
                                return -1;
                        o->setup_threads = (unsigned)v;
                        break;
                case 't':
                        if (!parse_uint(optarg, 64, &v) || v == 0)
                                return -1;
                        o->threads = (unsigned)v;
                        break;
                case 'd':
                        if (!parse_uint(optarg, 86400, &v))
                                return -1;
                        o->duration_s = (unsigned)v;
                        break;
                case 'o':
                        o->report = optarg;
                        break;
                case 'w':
                        if (!parse_uint(optarg, 1u << 22, &v) || v == 0)
                                return -1;
                        o->watch_pid = v;
                        break;
                case 'm':
                        if (!parse_uint(optarg, 100000, &v))
                                return -1;
                        o->min_quotes = (unsigned)v;
                        break;
                case 'f':
                        o->ready_file = optarg;
                        break;
                case 'P':
                        o->print_policies = true;
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        return -1;
                }
        }
        if (o->print_policies && optind == argc) {
                o->agents = 1; /* the policies are the same for every agent */
                return 0;
        }
        if (optind != argc || o->agents == 0 || o->registrar == NULL ||
            (o->verifier.url != NULL &&
             (o->verifier.tls.ca_file == NULL || o->verifier.tls.cert_file == NULL ||
              o->verifier.tls.key_file == NULL)))
                return -1;
        return 0;
}

/* Consecutive addresses from base, skipping .0 and .255 of the last byte. */
static int assign_addresses(struct fleet *f, const char *base)
{
        unsigned b0, b1, b2, b3;
        uint32_t ip;

        if (sscanf(base, "%u.%u.%u.%u", &b0, &b1, &b2, &b3) != 4 || b0 != 127 || b1 > 255 ||
            b2 > 255 || b3 > 255)
                return KL_ERR_INVAL;
        ip = b0 << 24 | b1 << 16 | b2 << 8 | b3;
        for (size_t i = 0; i < f->n_agents; i++) {
                while ((ip & 0xff) == 0 || (ip & 0xff) == 255)
                        ip++;
                if ((ip >> 24) != 127)
                        return KL_ERR_INVAL;
                snprintf(f->agents[i].ip, sizeof(f->agents[i].ip), "%u.%u.%u.%u", ip >> 24,
                         ip >> 16 & 0xff, ip >> 8 & 0xff, ip & 0xff);
                ip++;
        }
        return 0;
}

/* Bad agents spread evenly over the fleet (never the first), modes interleaved. */
static int assign_bad(struct fleet *f, const struct options *o)
{
        size_t total = 0, k = 0;

        for (unsigned b = 0; b < FLEET_BAD_MODES; b++)
                total += o->bad_count[b];
        if (total > f->n_agents / 2)
                return KL_ERR_INVAL; /* keep a majority of good agents to compare with */
        for (unsigned round = 0; k < total; round++) {
                for (unsigned b = FLEET_WRONG_PCR; b < FLEET_BAD_MODES && k < total; b++) {
                        if (round >= o->bad_count[b])
                                continue;
                        /* the step is at least 2, so index < n_agents and all distinct */
                        f->agents[k * f->n_agents / total + 1].bad = (enum fleet_bad)b;
                        k++;
                }
        }
        return 0;
}

enum phase { PHASE_KEYS, PHASE_REGISTER, PHASE_ADD };

struct setup {
        struct fleet *f;
        const struct options *o;
        const char *mtls_cert;
        const char *tpm_policy;
        const char *ima_policy;
        enum phase phase;
        atomic_size_t next;
        atomic_int failed;
};

static void *setup_worker(void *arg)
{
        struct setup *s = arg;
        char why[512] = "";
        size_t i;
        int r = 0;

        while (atomic_load(&s->failed) == 0 &&
               (i = atomic_fetch_add(&s->next, 1)) < s->f->n_agents) {
                struct fleet_agent *a = &s->f->agents[i];

                switch (s->phase) {
                case PHASE_KEYS:
                        r = fleet_agent_keys(a, s->o->rsa_every != 0 && i % s->o->rsa_every == 0);
                        if (r < 0)
                                snprintf(why, sizeof(why), "keys: %s", kl_err_str(r));
                        break;
                case PHASE_REGISTER:
                        r = fleet_register(a, s->o->registrar, s->mtls_cert, s->f->port, why,
                                           sizeof(why));
                        break;
                case PHASE_ADD:
                        r = fleet_verifier_add(&s->o->verifier, s->f, a, s->tpm_policy,
                                               s->ima_policy, why, sizeof(why));
                        break;
                }
                if (r < 0) {
                        fprintf(stderr, "kl_fleet: agent %s (%s): %s\n", a->uuid, a->ip, why);
                        atomic_store(&s->failed, 1);
                }
        }
        return NULL;
}

/* Runs one phase on the set-up threads; its wall time in ms, or -1. */
static int64_t run_phase(struct setup *s, enum phase phase)
{
        pthread_t th[MAX_SETUP_THREADS];
        unsigned n = 0;
        int64_t t0 = fleet_now_ms();

        s->phase = phase;
        atomic_store(&s->next, 0);
        for (; n < s->o->setup_threads; n++) {
                if (pthread_create(&th[n], NULL, setup_worker, s) != 0)
                        break;
        }
        for (unsigned i = 0; i < n; i++)
                pthread_join(th[i], NULL);
        if (n == 0 || atomic_load(&s->failed) != 0)
                return -1;
        return fleet_now_ms() - t0;
}

/* The fd limit: a connection per agent plus what curl and the daemon need. */
static void raise_nofile(size_t agents)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < agents + 256)
                fprintf(stderr, "kl_fleet: RLIMIT_NOFILE %llu may be too low for %zu agents\n",
                        (unsigned long long)rl.rlim_cur, agents);
}

/* The agents' TLS identity: one self-signed P-256 certificate, registered by each. */
static int make_tls(char **ret_cert, char **ret_key)
{
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        int r;

        if ((r = kl_key_generate_ec_p256(&key)) == 0 &&
            (r = kl_x509_self_signed(key, "kl-fleet", NULL, 30, &cert)) == 0 &&
            (r = kl_x509_to_pem(cert, ret_cert)) == 0)
                r = kl_key_to_pem(key, ret_key);
        kl_x509_free(cert);
        kl_pkey_free(key);
        return r;
}

static int make_nk(struct fleet *f)
{
        EVP_PKEY *nk = NULL;
        int r = kl_key_generate_rsa(2048, &nk);

        if (r == 0)
                r = kl_pubkey_to_pem(nk, &f->nk_pem);
        kl_pkey_free(nk);
        return r;
}

/* A "Field:   N kB" line of /proc/PID/status (pid 0: this process); -1 if unknown. */
static long status_kib(unsigned long pid, const char *field)
{
        char path[64], *text = NULL, *p;
        size_t len = 0;
        long v = -1;

        if (pid == 0)
                snprintf(path, sizeof(path), "/proc/self/status");
        else
                snprintf(path, sizeof(path), "/proc/%lu/status", pid);
        if (kl_file_read(path, 1u << 16, &text, &len) < 0)
                return -1;
        if ((p = strstr(text, field)) != NULL)
                v = strtol(p + strlen(field), NULL, 10);
        free(text);
        return v;
}

/* utime + stime of process pid in seconds (/proc/PID/stat fields 14, 15); -1 if unknown. */
static double pid_cpu_seconds(unsigned long pid)
{
        char path[64], *text = NULL, *p;
        unsigned long long ut = 0, st = 0;
        size_t len = 0;
        double v = -1;

        snprintf(path, sizeof(path), "/proc/%lu/stat", pid);
        if (kl_file_read(path, 1u << 16, &text, &len) < 0)
                return -1;
        /* the command name may hold spaces: count fields after its closing parenthesis */
        if ((p = strrchr(text, ')')) != NULL &&
            sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
                v = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
        free(text);
        return v;
}

static bool flagged_state(const char *state)
{
        return strcmp(state, "Invalid Quote") == 0 || strcmp(state, "Failed") == 0;
}

/* Bad agents that went bad and were not seen flagged yet: ask the verifier. */
static void watch_bad(struct fleet *f, const struct fleet_verifier *v)
{
        for (size_t i = 0; i < f->n_agents; i++) {
                struct fleet_agent *a = &f->agents[i];
                char state[64], reason[256];
                int64_t since, count = 0;

                if (a->bad == FLEET_GOOD || a->flagged_ms != 0)
                        continue;
                pthread_mutex_lock(&a->lock);
                since = a->bad_since_ms;
                pthread_mutex_unlock(&a->lock);
                if (since == 0 ||
                    fleet_verifier_status(v, a, state, sizeof(state), reason, sizeof(reason),
                                          &count) < 0 ||
                    !flagged_state(state))
                        continue;
                a->flagged_ms = fleet_now_ms();
                snprintf(a->flag_state, sizeof(a->flag_state), "%s", state);
                snprintf(a->flag_reason, sizeof(a->flag_reason), "%s", reason);
        }
}

/* p-th percentile (0..100) of the lateness histogram, in ms; -1 when empty. */
static long late_percentile(struct fleet *f, double p, uint64_t *ret_n)
{
        uint64_t n = 0, want, seen = 0;

        for (size_t i = 0; i < FLEET_LATE_BUCKETS; i++)
                n += atomic_load(&f->late[i]);
        *ret_n = n;
        if (n == 0)
                return -1;
        want = (uint64_t)(p / 100.0 * (double)n + 0.999999);
        if (want == 0)
                want = 1;
        for (size_t i = 0; i < FLEET_LATE_BUCKETS; i++) {
                seen += atomic_load(&f->late[i]);
                if (seen >= want)
                        return (long)i;
        }
        return FLEET_LATE_BUCKETS - 1;
}

static double cpu_seconds(void)
{
        struct rusage ru;

        if (getrusage(RUSAGE_SELF, &ru) != 0)
                return 0;
        return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

struct timings {
        int64_t keys_ms, register_ms, add_ms, run_ms;
        uint64_t polls_at_start, polls_at_end;
        double cpu_at_start, cpu_at_end;
        double watch_cpu_at_start, watch_cpu_at_end; /* --watch-pid */
        long watch_rss_kib, watch_hwm_kib;
};

static int write_report(struct fleet *f, const struct options *o, const struct timings *t)
{
        FILE *out = fopen(o->report, "we");
        uint64_t n_late = 0, polls = t->polls_at_end - t->polls_at_start;
        long p50 = late_percentile(f, 50, &n_late), p99 = late_percentile(f, 99, &n_late);
        long pmax = late_percentile(f, 100, &n_late);
        double cpu = t->cpu_at_end - t->cpu_at_start;
        double watch_cpu = t->watch_cpu_at_start >= 0 && t->watch_cpu_at_end >= 0
                               ? t->watch_cpu_at_end - t->watch_cpu_at_start
                               : -1;

        if (out == NULL) {
                fprintf(stderr, "kl_fleet: cannot write %s: %s\n", o->report, strerror(errno));
                return -1;
        }
        for (size_t i = 0; i < f->n_agents; i++) {
                struct fleet_agent *a = &f->agents[i];
                char state[64] = "", reason[256] = "";
                int64_t count = -1;

                if (o->verifier.url != NULL)
                        (void)fleet_verifier_status(&o->verifier, a, state, sizeof(state), reason,
                                                    sizeof(reason), &count);
                pthread_mutex_lock(&a->lock);
                fprintf(
                    out,
                    "{\"agent\": \"%s\", \"ip\": \"%s\", \"mode\": \"%s\", \"ak\": \"%s\", "
                    "\"quotes\": %llu, \"run_quotes\": %llu, \"state\": \"%s\", \"count\": %lld, "
                    "\"flag_ms\": %lld, \"reason\": ",
                    a->uuid, a->ip, fleet_bad_name(a->bad), kl_pkey_is_rsa(a->ak) ? "rsa" : "ecc",
                    (unsigned long long)a->quotes,
                    (unsigned long long)(a->quotes - a->quotes_before), state, (long long)count,
                    a->flagged_ms != 0 && a->bad_since_ms != 0
                        ? (long long)(a->flagged_ms - a->bad_since_ms)
                        : -1LL);
                pthread_mutex_unlock(&a->lock);
                /* reasons are the verifier's text: JSON-escape the two that matter */
                fputc('"', out);
                for (const char *p = reason; *p != '\0'; p++) {
                        if (*p == '"' || *p == '\\')
                                fputc('\\', out);
                        fputc((unsigned char)*p >= 0x20 ? *p : ' ', out);
                }
                fputs("\"}\n", out);
        }
        fprintf(out,
                "{\"summary\": true, \"agents\": %zu, \"interval_ms\": %u, \"run_ms\": %lld, "
                "\"quotes\": %llu, \"late_samples\": %llu, \"late_p50_ms\": %ld, "
                "\"late_p99_ms\": %ld, \"late_max_ms\": %ld, \"keys_ms\": %lld, "
                "\"register_ms\": %lld, \"registrations_per_s\": %.1f, \"add_ms\": %lld, "
                "\"sim_cpu_s\": %.2f, \"sim_rss_kib\": %ld, \"refused\": %llu, "
                "\"watch_cpu_s\": %.2f, \"watch_rss_kib\": %ld, \"watch_hwm_kib\": %ld}\n",
                f->n_agents, f->interval_ms, (long long)t->run_ms, (unsigned long long)polls,
                (unsigned long long)n_late, p50, p99, pmax, (long long)t->keys_ms,
                (long long)t->register_ms,
                t->register_ms > 0 ? (double)f->n_agents * 1000.0 / (double)t->register_ms : 0.0,
                (long long)t->add_ms, cpu, status_kib(0, "VmRSS:"),
                (unsigned long long)atomic_load(&f->refused), watch_cpu, t->watch_rss_kib,
                t->watch_hwm_kib);
        return fclose(out) == 0 ? 0 : -1;
}

/* Every good agent answered k quotes since all were added, every bad one was seen flagged. */
static bool all_done(struct fleet *f, unsigned k)
{
        for (size_t i = 0; i < f->n_agents; i++) {
                struct fleet_agent *a = &f->agents[i];
                bool done;

                pthread_mutex_lock(&a->lock);
                done =
                    a->bad == FLEET_GOOD ? a->quotes - a->quotes_before >= k : a->flagged_ms != 0;
                pthread_mutex_unlock(&a->lock);
                if (!done)
                        return false;
        }
        return true;
}

/* Until SIGINT/SIGTERM, the duration or --min-quotes, watching the bad agents. */
static void run(struct fleet *f, const struct options *o, const sigset_t *mask)
{
        int64_t end = o->duration_s != 0 ? fleet_now_ms() + (int64_t)o->duration_s * 1000 : 0;
        struct timespec tick = {.tv_sec = 0, .tv_nsec = 250 * 1000000L};

        for (;;) {
                int sig = sigtimedwait(mask, NULL, &tick);

                if (sig == SIGINT || sig == SIGTERM)
                        return;
                if (end != 0 && fleet_now_ms() >= end)
                        return;
                if (o->verifier.url != NULL)
                        watch_bad(f, &o->verifier);
                if (o->min_quotes != 0 && all_done(f, o->min_quotes))
                        return;
        }
}

int main(int argc, char **argv)
{
        struct options o = {
            .rsa_every = 8,
            .base_ip = "127.1.0.1",
            .bad_after = 2,
            .interval_ms = 2000,
            .ima_growth = 1,
            .setup_threads = 2,
            .threads = 2,
        };
        struct fleet *f = NULL;
        struct kl_http_server *srv = NULL;
        struct kl_http_server_options hopts = {.host = "0.0.0.0", .timeout_s = 120};
        struct setup s = {0};
        struct timings t = {0};
        char *cert = NULL, *key = NULL, *ca = NULL, *tpm_policy = NULL, *ima_policy = NULL;
        size_t ca_len = 0;
        sigset_t mask;
        int ret = 1;

        kl_log_set_ident("kl_fleet");
        if (parse_options(argc, argv, &o) < 0) {
                usage(stderr);
                return 2;
        }
        if (kl_signals_block(&mask) < 0 || kl_http_client_global_init() < 0)
                return 1;
        raise_nofile(o.agents);
        if ((f = calloc(1, sizeof(*f))) == NULL ||
            (f->agents = calloc(o.agents, sizeof(*f->agents))) == NULL)
                goto out;
        f->n_agents = o.agents;
        f->interval_ms = o.interval_ms;
        f->bad_after = o.bad_after;
        f->ima_growth = o.ima_growth;
        if (assign_addresses(f, o.base_ip) < 0 || assign_bad(f, &o) < 0) {
                fprintf(stderr,
                        "kl_fleet: addresses past 127.255.255.254, or too many bad agents\n");
                goto out;
        }
        for (size_t i = 0; i < f->n_agents; i++) {
                if (kl_uuid_generate(f->agents[i].uuid) < 0)
                        goto out;
        }
        if (make_nk(f) < 0 || fleet_evidence_init(f) < 0 || make_tls(&cert, &key) < 0 ||
            (tpm_policy = fleet_tpm_policy(f)) == NULL ||
            (ima_policy = fleet_ima_policy(f)) == NULL)
                goto out;
        if (o.print_policies) {
                /* for a verifier the simulator cannot add agents to itself (bench/fleet.sh) */
                ret = printf("%s\n%s\n", tpm_policy, ima_policy) < 0;
                goto out;
        }
        if (o.verifier.tls.ca_file != NULL &&
            kl_file_read(o.verifier.tls.ca_file, CERT_FILE_MAX, &ca, &ca_len) < 0) {
                fprintf(stderr, "kl_fleet: cannot read %s\n", o.verifier.tls.ca_file);
                goto out;
        }
        hopts.port = o.port;
        hopts.tls_cert_pem = cert;
        hopts.tls_key_pem = key;
        hopts.tls_client_ca_pem = ca; /* NULL: no verifier PKI, plain TLS */
        hopts.threads = o.threads;
        hopts.connection_limit = (unsigned)(o.agents + 256);
        hopts.max_body = 4096;
        if (kl_http_server_start(&hopts, fleet_serve, f, &srv) < 0)
                goto out;
        f->port = kl_http_server_port(srv);
        s.f = f;
        s.o = &o;
        s.mtls_cert = cert;
        s.tpm_policy = tpm_policy;
        s.ima_policy = ima_policy;
        if ((t.keys_ms = run_phase(&s, PHASE_KEYS)) < 0 ||
            (t.register_ms = run_phase(&s, PHASE_REGISTER)) < 0)
                goto out;
        fprintf(stderr, "kl_fleet: %zu agents on port %u: keys %lld ms, registered in %lld ms\n",
                f->n_agents, (unsigned)f->port, (long long)t.keys_ms, (long long)t.register_ms);
        if (o.verifier.url != NULL) {
                if ((t.add_ms = run_phase(&s, PHASE_ADD)) < 0)
                        goto out;
                fprintf(stderr, "kl_fleet: added to the verifier in %lld ms\n",
                        (long long)t.add_ms);
        }
        /* lateness from the second interval on: the verifier spreads first polls as it likes */
        f->measure_from_ms = fleet_now_ms() + 2 * (int64_t)o.interval_ms;
        t.polls_at_start = atomic_load(&f->polls);
        for (size_t i = 0; i < f->n_agents; i++) {
                pthread_mutex_lock(&f->agents[i].lock);
                f->agents[i].quotes_before = f->agents[i].quotes;
                pthread_mutex_unlock(&f->agents[i].lock);
        }
        t.cpu_at_start = cpu_seconds();
        t.watch_cpu_at_start = o.watch_pid != 0 ? pid_cpu_seconds(o.watch_pid) : -1;
        if (o.ready_file != NULL && kl_write_port_file(o.ready_file, f->port) < 0)
                goto out;
        t.run_ms = fleet_now_ms();
        run(f, &o, &mask);
        t.run_ms = fleet_now_ms() - t.run_ms;
        /* before the report, whose status queries load the verifier too */
        t.polls_at_end = atomic_load(&f->polls);
        t.cpu_at_end = cpu_seconds();
        t.watch_cpu_at_end = o.watch_pid != 0 ? pid_cpu_seconds(o.watch_pid) : -1;
        t.watch_rss_kib = o.watch_pid != 0 ? status_kib(o.watch_pid, "VmRSS:") : -1;
        t.watch_hwm_kib = o.watch_pid != 0 ? status_kib(o.watch_pid, "VmHWM:") : -1;
        ret = 0;
        if (o.report != NULL && write_report(f, &o, &t) < 0)
                ret = 1;
out:
        kl_http_server_stop(srv);
        if (f != NULL && f->agents != NULL) {
                for (size_t i = 0; i < f->n_agents; i++)
                        fleet_agent_clear(&f->agents[i]);
                free(f->agents);
        }
        if (f != NULL)
                fleet_evidence_free(f);
        free(f);
        if (key != NULL)
                kl_secure_free(key, strlen(key));
        free(cert);
        free(ca);
        free(tpm_policy);
        free(ima_policy);
        return ret;
}
