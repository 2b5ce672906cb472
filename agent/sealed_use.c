/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keylime_agent --unseal NAME and --sign NAME (see sealed_use.h). The
 * unsealed key goes only to the secure tmpfs and is wiped from memory; a
 * refused PCR policy is reported with the PCRs it names.
 */
#include "sealed_use.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "identity.h"
#include "log.h"
#include "sealed.h"
#include "secure_mount.h"
#include "tpm.h"

#define SIGN_INPUT_MAX (64u << 20)

/* The stored object NAME of kind, and the TPM; messages name what is missing. */
static int open_object(const struct kl_agent_config *cfg, const char *name, enum sealed_kind kind,
                       struct sealed_object **ret_o, struct kl_tpm **ret_tpm)
{
        struct kl_tpm_options opts = identity_tpm_options(cfg);
        struct sealed_object *o = NULL;
        char why[512] = "";
        int r;

        if ((r = sealed_record_load(cfg->keylime_dir, name, &o)) < 0) {
                log_error("no sealed object '%.64s' in %s/sealed: %s", name, cfg->keylime_dir,
                          kl_err_str(r));
                return r;
        }
        if (o->kind != kind) {
                log_error("sealed object '%s' is an %s object, not %s", name,
                          sealed_kind_name(o->kind), sealed_kind_name(kind));
                sealed_object_free(o);
                return KL_ERR_INVAL;
        }
        if ((r = kl_tpm_open(&opts, ret_tpm, why, sizeof(why))) < 0) {
                log_error("%s", why);
                sealed_object_free(o);
                return r;
        }
        *ret_o = o;
        return 0;
}

static void report_refusal(const char *what, const struct sealed_object *o, int r)
{
        char pcrs[96];

        sealed_pcrs_str(o, pcrs, sizeof(pcrs));
        if (r == KL_ERR_TPM_POLICY)
                log_error("cannot %s with '%s': the TPM refused: its PCR policy (PolicyPCR over "
                          "%s) is not satisfied: the PCRs changed since it was sealed",
                          what, o->name, pcrs);
        else
                log_error("cannot %s with '%s': %s", what, o->name, kl_err_str(r));
}

int sealed_use_unseal(const struct kl_agent_config *cfg, const char *name)
{
        struct sealed_object *o = NULL;
        struct kl_tpm *tpm = NULL;
        uint8_t *key = NULL;
        size_t key_len = 0;
        char dir[4096], path[4096 + 80];
        int n, r, status = 1;

        if (open_object(cfg, name, SEALED_AES, &o, &tpm) < 0)
                goto out;
        r = kl_tpm_unseal(tpm, o->pub, o->pub_len, o->priv, o->priv_len, o->bank, o->mask, &key,
                          &key_len);
        if (r < 0) {
                report_refusal("unseal", o, r);
                goto out;
        }
        if (secure_mount_setup(cfg, dir, sizeof(dir)) < 0)
                goto out;
        n = snprintf(path, sizeof(path), "%s/unsealed", dir);
        if (n < 0 || (size_t)n >= sizeof(path) || (mkdir(path, 0700) != 0 && errno != EEXIST)) {
                log_error("cannot create %s/unsealed", dir);
                goto out;
        }
        n = snprintf(path, sizeof(path), "%s/unsealed/%s", dir, o->name);
        if (n < 0 || (size_t)n >= sizeof(path) ||
            (r = kl_file_write_atomic(path, key, key_len, 0600)) < 0) {
                log_error("cannot write the unsealed key to %s/unsealed", dir);
                goto out;
        }
        printf("%s\n", path);
        status = 0;
out:
        kl_secure_free(key, key_len);
        kl_tpm_free(tpm);
        sealed_object_free(o);
        return status;
}

int sealed_use_sign(const struct kl_agent_config *cfg, const char *name, const char *in_file,
                    const char *out_file)
{
        struct sealed_object *o = NULL;
        struct kl_tpm *tpm = NULL;
        uint8_t digest[KL_MAX_DIGEST_LEN], *sig = NULL;
        size_t in_len = 0, dlen = 0, sig_len = 0;
        char *in = NULL;
        int r, status = 1;

        if (in_file == NULL || out_file == NULL) {
                log_error("--sign needs --in FILE and --out FILE");
                return 2;
        }
        if ((r = kl_file_read(in_file, SIGN_INPUT_MAX, &in, &in_len)) < 0 ||
            (r = kl_digest("sha256", in, in_len, digest, &dlen)) < 0) {
                log_error("cannot read %s: %s", in_file, kl_err_str(r));
                goto out;
        }
        if (open_object(cfg, name, SEALED_RSA, &o, &tpm) < 0)
                goto out;
        r = kl_tpm_sign_rsassa(tpm, o->pub, o->pub_len, o->priv, o->priv_len, o->bank, o->mask,
                               digest, &sig, &sig_len);
        if (r < 0) {
                report_refusal("sign", o, r);
                goto out;
        }
        if ((r = kl_file_write_atomic(out_file, sig, sig_len, 0644)) < 0) {
                log_error("cannot write %s: %s", out_file, kl_err_str(r));
                goto out;
        }
        status = 0;
out:
        free(in);
        free(sig);
        kl_tpm_free(tpm);
        sealed_object_free(o);
        return status;
}
