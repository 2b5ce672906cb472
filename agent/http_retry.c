/* SPDX-License-Identifier: Apache-2.0 */
/* See http_retry.h. */
#include "http_retry.h"

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "log.h"
#include "notify.h"

static bool status_is_transient(long status)
{
        return status >= 500 || status == 408 || status == 429;
}

/* Sleeps ms (feeding systemd's watchdog), or KL_ERR_CANCELED once stop_fd is readable. */
static int sleep_or_cancel(int stop_fd, uint64_t ms)
{
        struct pollfd pfd = {.fd = stop_fd, .events = POLLIN};

        return kl_notify_poll(&pfd, stop_fd >= 0 ? 1 : 0, (int64_t)ms) > 0 ? KL_ERR_CANCELED : 0;
}

int http_retry_request(const struct http_retry *rt, const char *method, const char *url,
                       const char *body, const struct kl_http_request_opts *opts,
                       const struct kl_http_tls *tls, long timeout_ms, struct kl_http_response *ret)
{
        const struct kl_agent_config *cfg = rt->cfg;
        uint64_t delay = cfg->exponential_backoff_initial_delay, wait;
        int r = KL_ERR_HTTP;

        for (uint32_t attempt = 0;; attempt++) {
                r = kl_http_request_with(method, url, body, opts, tls, timeout_ms, ret);
                if (r == 0 && !status_is_transient(ret->status))
                        return 0;
                if (attempt >= cfg->exponential_backoff_max_retries)
                        break;
                /* as upstream: the server's Retry-After instead of our own delay */
                wait = r == 0 && ret->retry_after > 0 ? (uint64_t)ret->retry_after * 1000u : delay;
                if (r == 0) {
                        log_warn("%s %s answered %ld; retrying in %llu ms", method, url,
                                 ret->status, (unsigned long long)wait);
                        kl_notify_status("%s answered %ld; retry %u of %u in %llu ms", rt->peer,
                                         ret->status, attempt + 1,
                                         cfg->exponential_backoff_max_retries,
                                         (unsigned long long)wait);
                        kl_http_response_clear(ret);
                } else {
                        log_warn("%s at %s not reachable (%s); retrying in %llu ms", rt->peer, url,
                                 ret->error[0] ? ret->error : kl_err_str(r),
                                 (unsigned long long)wait);
                        kl_notify_status("%s not reachable (%s); retry %u of %u in %llu ms",
                                         rt->peer, kl_err_str(r), attempt + 1,
                                         cfg->exponential_backoff_max_retries,
                                         (unsigned long long)wait);
                }
                if (sleep_or_cancel(rt->stop_fd, wait) < 0) {
                        kl_http_response_clear(ret);
                        log_info("stop requested; giving up on the %s", rt->peer);
                        return KL_ERR_CANCELED;
                }
                delay *= 2;
                if (delay > cfg->exponential_backoff_max_delay)
                        delay = cfg->exponential_backoff_max_delay;
        }
        return r;
}
