/* SPDX-License-Identifier: Apache-2.0 */
/* See quote_evidence.h. */
#include "quote_evidence.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "err.h"
#include "ima_log.h"
#include "log.h"
#include "tpm.h"

#define MB_LOG_MAX (32u << 20)

void agent_quote_clear(struct agent_quote *q)
{
        free(q->quote);
        kl_ima_slice_free(q->ima);
        memset(q, 0, sizeof(*q));
}

void agent_note_tpm_lost(struct agent *a, int r)
{
        /* a reset TPM (swtpm restarted and reconnected) no longer holds our loaded AK */
        if ((r == KL_ERR_TPM_LOST || r == KL_ERR_TPM_HANDLE) &&
            !atomic_exchange(&a->tpm_lost, true)) {
                /* ESAPI cannot resume: a new process (systemd Restart=on-failure) reopens it */
                log_error("the connection to the TPM is lost or the TPM was reset (%s); exiting "
                          "for the service manager to restart the agent",
                          kl_err_str(r));
                (void)kill(getpid(), SIGTERM);
        }
}

int agent_take_quote(struct agent *a, const uint8_t *nonce, size_t nonce_len,
                     const uint8_t *pcr16_digest, size_t pcr16_len, uint32_t mask, bool want_ima,
                     uint64_t ima_entry, struct agent_quote *ret)
{
        uint8_t *attest = NULL, *sig = NULL;
        size_t attest_len = 0, sig_len = 0;
        int r;

        pthread_mutex_lock(&a->tpm_lock);
        if ((r = kl_tpm_pcr_reset_extend(a->tpm, AGENT_DATA_PCR, pcr16_digest, pcr16_len)) < 0 ||
            (r = kl_tpm_quote(a->tpm, nonce, nonce_len, mask | (1u << AGENT_DATA_PCR), &attest,
                              &attest_len, &sig, &sig_len, &ret->pcrs)) < 0)
                goto out;
        if (want_ima && a->ima != NULL) {
                r = kl_ima_log_slice(a->ima, ima_entry, &ret->ima);
                if (r < 0) {
                        log_error("cannot read the IMA log: %s", kl_err_str(r));
                        goto out;
                }
        }
        r = kl_quote_encode(attest, attest_len, sig, sig_len, &ret->pcrs, &ret->quote);
out:
        agent_note_tpm_lost(a, r);
        pthread_mutex_unlock(&a->tpm_lock);
        free(attest);
        free(sig);
        return r;
}

char *agent_read_mb_log(int fd)
{
        uint8_t *data = NULL, *grown;
        size_t len = 0, cap = 0;
        char *b64 = NULL;

        for (;;) {
                ssize_t n;

                if (len == cap) {
                        if (cap >= MB_LOG_MAX || (grown = realloc(data, cap + 65536)) == NULL)
                                goto out;
                        data = grown;
                        cap += 65536;
                }
                n = pread(fd, data + len, cap - len, (off_t)len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        log_warn("cannot read the measured boot log: %s", strerror(errno));
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (kl_b64_encode(data, len, &b64) < 0)
                b64 = NULL;
out:
        free(data);
        return b64;
}
