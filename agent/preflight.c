/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The --check preflight. Each check prints exactly one line and goes on, so
 * one run shows every problem. It reads the TPM (EK creation is transient and
 * flushed) but never writes files or talks to the registrar beyond GET /version.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "err.h"
#include "http_client.h"
#include "identity.h"
#include "platform.h"
#include "platform_cert.h"
#include "preflight.h"
#include "tpm.h"

#define LINE_MAX_LEN       1024
#define REGISTRAR_TIMEOUT  5000 /* ms: one try, an operator is waiting */
#define MOUNTINFO_LINE_MAX 4096

enum verdict { OK, WARN, FAIL };

struct report {
        unsigned failed;
};

static void line(struct report *rep, enum verdict v, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void line(struct report *rep, enum verdict v, const char *what, const char *fmt, ...)
{
        static const char *const tag[] = {"ok   ", "warn ", "FAIL "};
        char detail[LINE_MAX_LEN];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(detail, sizeof(detail), fmt, ap); /* truncation only shortens a message */
        va_end(ap);
        printf("%s %s: %s\n", tag[v], what, detail);
        fflush(stdout);
        if (v == FAIL)
                rep->failed++;
}

static void check_config(struct report *rep, const struct kl_agent_config *cfg)
{
        char list[LINE_MAX_LEN] = "";
        const char *names[32];
        size_t used = 0, n;

        for (size_t i = 0; i < cfg->n_sources && i < KL_CONFIG_MAX_SOURCES; i++) {
                int k = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
                                 cfg->sources[i]);

                if (k < 0 || (size_t)k >= sizeof(list) - used)
                        break;
                used += (size_t)k;
        }
        line(rep, OK, "config", "%s", used ? list : "built-in defaults only (no file found)");
        n = kl_agent_config_unsupported(cfg, names, 32);
        for (size_t i = 0; i < n; i++)
                line(rep, WARN, "config", "option '%s' is not supported yet and is ignored",
                     names[i]);
}

static void check_keylime_dir(struct report *rep, const struct kl_agent_config *cfg)
{
        struct stat st;

        if (stat(cfg->keylime_dir, &st) != 0)
                line(rep, FAIL, "keylime_dir", "%s: %s", cfg->keylime_dir, strerror(errno));
        else if (!S_ISDIR(st.st_mode))
                line(rep, FAIL, "keylime_dir", "%s: not a directory", cfg->keylime_dir);
        else
                line(rep, OK, "keylime_dir", "%s (mode %04o, uid %u, gid %u)", cfg->keylime_dir,
                     (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid);
}

/* EK certificate from NV, and its chain to ek_ca_dir when one was given. */
static void check_ek_cert(struct report *rep, struct kl_tpm *tpm, const char *ek_ca_dir)
{
        uint8_t **chain = NULL;
        size_t *chain_lens = NULL;
        size_t n_chain = 0;
        uint8_t *der = NULL;
        size_t der_len = 0;
        X509 *cert = NULL;
        char why[512] = "";
        int r;

        r = kl_tpm_ek_cert(tpm, &der, &der_len);
        if (r == KL_ERR_NOT_FOUND) {
                /* vTPMs often ship without one; the registrar decides whether that is fatal */
                line(rep, WARN, "EK certificate", "none in the TPM's NV indices");
                goto out;
        }
        if (r < 0 || kl_x509_parse_any(der, der_len, &cert) < 0) {
                line(rep, FAIL, "EK certificate", "cannot read it from NV: %s", kl_err_str(r));
                goto out;
        }
        if (ek_ca_dir == NULL) {
                line(rep, OK, "EK certificate", "found in NV (issuer's chain not checked)");
                goto out;
        }
        if (kl_tpm_ek_chain(tpm, &chain, &chain_lens, &n_chain) < 0)
                n_chain = 0; /* no intermediates in NV: verify against the CAs alone */
        if (kl_x509_verify_with_ca_dir_blobs(cert, ek_ca_dir, chain, chain_lens, n_chain, why,
                                             sizeof(why)) < 0)
                line(rep, FAIL, "EK certificate", "does not chain to a CA in %s: %s", ek_ca_dir,
                     why);
        else
                line(rep, OK, "EK certificate", "found in NV, chains to a CA in %s", ek_ca_dir);
out:
        kl_tpm_der_list_free(chain, chain_lens, n_chain);
        kl_x509_free(cert);
        free(der);
}

/*
 * The platform certificate the agent would send: present, its holder is this
 * TPM's EK certificate, and its dates. The signature is the registrar's to judge.
 */
static void check_platform_cert(struct report *rep, struct kl_tpm *tpm,
                                const struct kl_agent_config *cfg)
{
        struct kl_platform_cert *pc = NULL;
        const struct kl_platform_attrs *a;
        const char *source = NULL;
        uint8_t *der = NULL, *ek_der = NULL;
        size_t len = 0, ek_len = 0;
        X509 *ek = NULL;
        char why[512] = "", nb[21] = "?", na[21] = "?";
        int r;

        if ((r = platform_cert_read(tpm, cfg, &der, &len, &source)) < 0) {
                line(rep, FAIL, "platform certificate", "cannot read %s: %s", source,
                     kl_err_str(r));
                goto out;
        }
        if (der == NULL) {
                line(rep, WARN, "platform certificate", "none in %s (registering without one)",
                     source);
                goto out;
        }
        if (kl_platform_cert_parse(der, len, &pc) < 0) {
                line(rep, FAIL, "platform certificate",
                     "%s is not a DER TCG platform attribute certificate", source);
                goto out;
        }
        a = kl_platform_cert_attrs(pc);
        (void)kl_platform_cert_validity(pc, nb, na);
        if (kl_tpm_ek_cert(tpm, &ek_der, &ek_len) < 0 || kl_x509_parse_any(ek_der, ek_len, &ek) < 0)
                line(rep, FAIL, "platform certificate", "%s: no EK certificate to be bound to",
                     source);
        else if (kl_platform_cert_check_holder(pc, ek, why, sizeof(why)) < 0 ||
                 kl_platform_cert_check_dates(pc, time(NULL), why, sizeof(why)) < 0)
                line(rep, FAIL, "platform certificate", "%s: %s", source, why);
        else
                line(rep, OK, "platform certificate",
                     "%s: %s %s %s (serial %s), holder is the EK certificate, valid %s .. %s "
                     "(issuer's signature not checked)",
                     source, a->manufacturer, a->model, a->version,
                     a->serial != NULL ? a->serial : "none", nb, na);
out:
        kl_x509_free(ek);
        free(ek_der);
        kl_platform_cert_free(pc);
        free(der);
}

static bool list_contains(const char *list, const char *item)
{
        size_t n = strlen(item);

        for (const char *p = list; (p = strstr(p, item)) != NULL; p += n) {
                if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
                        return true;
        }
        return false;
}

/* The same test the TPM module applies: "generate" or empty means a transient EK. */
static bool ek_is_transient(const char *ek_handle)
{
        return ek_handle == NULL || ek_handle[0] == '\0' || strcasecmp(ek_handle, "generate") == 0;
}

static void check_tpm(struct report *rep, const struct kl_agent_config *cfg, const char *ek_ca_dir)
{
        struct kl_tpm_options opts = identity_tpm_options(cfg);
        struct kl_tpm *tpm = NULL;
        char why[512] = "";
        char banks[128] = "";
        int r;

        if (kl_tpm_open(&opts, &tpm, why, sizeof(why)) < 0) {
                line(rep, FAIL, "TPM", "%s", why);
                goto out;
        }
        line(rep, OK, "TPM", "%s", kl_tpm_tcti(tpm));
        if ((r = kl_tpm_ek_load(tpm)) < 0) {
                line(rep, FAIL, "EK", "cannot load it: %s", kl_err_str(r));
        } else {
                line(rep, OK, "EK", "%s %s key",
                     ek_is_transient(cfg->ek_handle) ? "transient" : "persistent",
                     cfg->tpm_encryption_alg);
                check_ek_cert(rep, tpm, ek_ca_dir);
                check_platform_cert(rep, tpm, cfg);
                (void)kl_tpm_ek_flush(tpm);
        }
        if ((r = kl_tpm_pcr_banks(tpm, banks, sizeof(banks))) < 0)
                line(rep, FAIL, "PCR banks", "cannot read them: %s", kl_err_str(r));
        else if (!list_contains(banks, cfg->tpm_hash_alg))
                line(rep, FAIL, "PCR banks", "%s allocated, but tpm_hash_alg is %s",
                     banks[0] ? banks : "none", cfg->tpm_hash_alg);
        else
                line(rep, OK, "PCR banks", "%s (tpm_hash_alg %s)", banks, cfg->tpm_hash_alg);
out:
        kl_tpm_free(tpm);
}

/* Readable means one byte can be read: securityfs files open fine for some users but refuse reads.
 */
static void check_log(struct report *rep, const char *what, const char *path)
{
        char c;
        ssize_t n;
        int fd;

        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
                line(rep, FAIL, what, "%s: %s", path, strerror(errno));
                return;
        }
        n = read(fd, &c, 1);
        if (n < 0)
                line(rep, FAIL, what, "%s: %s", path, strerror(errno));
        else
                line(rep, OK, what, "%s%s", path, n == 0 ? " (empty)" : "");
        close(fd);
}

/*
 * Field 5 of /proc/self/mountinfo is the mount point (octal escapes for
 * spaces), and after the " - " separator comes the file system type.
 */
static void check_secure_mount(struct report *rep, const struct kl_agent_config *cfg)
{
        char want[LINE_MAX_LEN];
        char buf[MOUNTINFO_LINE_MAX];
        const char *fstype = NULL;
        FILE *f;
        int n;

        n = snprintf(want, sizeof(want), "%s/secure", cfg->keylime_dir);
        if (n < 0 || (size_t)n >= sizeof(want)) {
                line(rep, FAIL, "secure mount", "keylime_dir is too long");
                return;
        }
        if ((f = fopen("/proc/self/mountinfo", "re")) == NULL) {
                line(rep, WARN, "secure mount", "/proc/self/mountinfo: %s", strerror(errno));
                return;
        }
        while (fgets(buf, sizeof(buf), f) != NULL) {
                char mnt[MOUNTINFO_LINE_MAX], type[64];
                const char *sep;

                if (sscanf(buf, "%*s %*s %*s %*s %4095s", mnt) != 1 || strcmp(mnt, want) != 0)
                        continue;
                if ((sep = strstr(buf, " - ")) == NULL || sscanf(sep + 3, "%63s", type) != 1)
                        continue;
                /* later lines are mounts stacked on top: the last one wins */
                fstype = strcmp(type, "tmpfs") == 0 ? "tmpfs" : "other";
        }
        fclose(f);
        if (fstype == NULL)
                line(rep, WARN, "secure mount",
                     "%s is not a mount point (var-lib-keylime-secure.mount mounts it)", want);
        else if (strcmp(fstype, "tmpfs") != 0)
                line(rep, FAIL, "secure mount", "%s is mounted but not a tmpfs", want);
        else
                line(rep, OK, "secure mount", "%s is a tmpfs", want);
}

static void check_registrar(struct report *rep, const struct kl_agent_config *cfg)
{
        struct kl_http_response resp = {0};
        bool v6 = strchr(cfg->registrar_ip, ':') != NULL;
        char url[LINE_MAX_LEN];
        int n, r;

        n = snprintf(url, sizeof(url), "http://%s%s%s:%u/version", v6 ? "[" : "", cfg->registrar_ip,
                     v6 ? "]" : "", (unsigned)cfg->registrar_port);
        if (n < 0 || (size_t)n >= sizeof(url)) {
                line(rep, FAIL, "registrar", "registrar_ip is too long");
                return;
        }
        r = kl_http_request("GET", url, NULL, NULL, REGISTRAR_TIMEOUT, &resp);
        if (r < 0)
                line(rep, FAIL, "registrar", "%s not reachable: %s", url, kl_err_str(r));
        else if (resp.status != 200)
                line(rep, FAIL, "registrar", "%s answered %ld", url, resp.status);
        else
                line(rep, OK, "registrar", "%s answered 200", url);
        kl_http_response_clear(&resp);
}

int preflight_run(const struct kl_agent_config *cfg, const char *ek_ca_dir)
{
        struct report rep = {0};

        check_config(&rep, cfg);
        check_keylime_dir(&rep, cfg);
        check_tpm(&rep, cfg, ek_ca_dir);
        check_log(&rep, "IMA log", cfg->ima_ml_path);
        check_log(&rep, "event log", cfg->measuredboot_ml_path);
        check_secure_mount(&rep, cfg);
        check_registrar(&rep, cfg);
        if (rep.failed)
                printf("%u check%s failed\n", rep.failed, rep.failed == 1 ? "" : "s");
        else
                printf("all checks passed\n");
        return rep.failed ? 1 : 0;
}
