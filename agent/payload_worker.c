/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The payload worker (payload.h): one thread that decrypts, delivers and
 * runs the script after the HTTP handler has answered, so a slow script
 * never holds a request. Only the newest job waits; K and the blob are
 * wiped when a job is done or replaced.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "crypto.h"
#include "err.h"
#include "keys.h"
#include "log.h"
#include "payload.h"

struct job {
        uint8_t k[KEYS_KEY_MAX];
        size_t k_len;
        uint8_t *blob;
        size_t blob_len;
};

struct payload_worker {
        struct payload_opts o;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop;
        atomic_bool cancel;
        struct job *pending;
        uint64_t last_seq; /* of the newest job submitted */
};

static void job_free(struct job *j)
{
        if (j == NULL)
                return;
        kl_secure_free(j->blob, j->blob_len);
        kl_secure_free(j, sizeof(*j));
}

static void run_job(struct payload_worker *w, struct job *j)
{
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        bool timed_out = false;
        int r, status = 0;

        if ((r = payload_decrypt(j->k, j->k_len, j->blob, j->blob_len, &plain, &plain_len)) < 0) {
                log_error("cannot decrypt the payload with the bootstrap key: %s", kl_err_str(r));
                return;
        }
        r = payload_deliver(&w->o, j->k, j->k_len, plain, plain_len);
        kl_secure_free(plain, plain_len);
        if (r < 0)
                return;
        log_info("payload delivered into %s/unzipped", w->o.secure_dir);
        r = payload_run_script(&w->o, &w->cancel, &status, &timed_out);
        if (r == KL_ERR_NOT_FOUND)
                log_info("payload has no %s; nothing to run", w->o.script);
        else if (r < 0)
                log_error("cannot run the payload script: %s", kl_err_str(r));
        else if (timed_out)
                log_error("payload script %s killed after %u s", w->o.script,
                          w->o.script_timeout_s);
        else if (WIFEXITED(status))
                log_info("payload script %s exited with status %d", w->o.script,
                         WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                log_warn("payload script %s killed by signal %d", w->o.script, WTERMSIG(status));
}

static void *worker_main(void *arg)
{
        struct payload_worker *w = arg;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                struct job *j;

                while (!w->stop && w->pending == NULL)
                        pthread_cond_wait(&w->cond, &w->lock);
                if (w->stop)
                        break;
                j = w->pending;
                w->pending = NULL;
                pthread_mutex_unlock(&w->lock);
                run_job(w, j);
                job_free(j);
                pthread_mutex_lock(&w->lock);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

int payload_worker_start(const struct payload_opts *o, struct payload_worker **ret)
{
        struct payload_worker *w = calloc(1, sizeof(*w));

        if (w == NULL)
                return KL_ERR_NOMEM;
        (void)payload_remove_interrupted(o->secure_dir); /* logged; never stops the agent */
        w->o = *o;
        atomic_init(&w->cancel, false);
        if (pthread_mutex_init(&w->lock, NULL) != 0) {
                free(w);
                return KL_ERR_SYSTEM;
        }
        if (pthread_cond_init(&w->cond, NULL) != 0) {
                pthread_mutex_destroy(&w->lock);
                free(w);
                return KL_ERR_SYSTEM;
        }
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
                pthread_cond_destroy(&w->cond);
                pthread_mutex_destroy(&w->lock);
                free(w);
                return KL_ERR_SYSTEM;
        }
        *ret = w;
        return 0;
}

int payload_worker_submit(struct payload_worker *w, uint64_t seq, const uint8_t *k, size_t k_len,
                          uint8_t *blob, size_t blob_len)
{
        struct job *j = calloc(1, sizeof(*j));

        if (j == NULL || k_len > sizeof(j->k)) {
                free(j);
                kl_secure_free(blob, blob_len);
                return j == NULL ? KL_ERR_NOMEM : KL_ERR_INVAL;
        }
        memcpy(j->k, k, k_len);
        j->k_len = k_len;
        j->blob = blob;
        j->blob_len = blob_len;
        pthread_mutex_lock(&w->lock);
        if (seq <= w->last_seq) {
                pthread_mutex_unlock(&w->lock);
                log_info("dropping a payload whose key was already replaced by a newer one");
                job_free(j);
                return KL_ERR_EXISTS;
        }
        w->last_seq = seq;
        if (w->pending != NULL)
                log_info("a newer payload replaces one that was not processed yet");
        job_free(w->pending);
        w->pending = j;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
        return 0;
}

void payload_worker_stop(struct payload_worker *w)
{
        if (w == NULL)
                return;
        pthread_mutex_lock(&w->lock);
        w->stop = true;
        atomic_store(&w->cancel, true);
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        job_free(w->pending);
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w);
}
