/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One HTTP request with upstream's retry policy, shared by the registrar
 * client and the push-model client: a transport error, 5xx, 408 or 429 is
 * retried after exponential_backoff_initial_delay ms, doubling up to
 * exponential_backoff_max_delay, at most exponential_backoff_max_retries
 * times; a Retry-After from the server replaces the back-off delay of that
 * attempt. A stop request (readable stop_fd) ends the wait at once.
 */
#ifndef AGENT_HTTP_RETRY_H
#define AGENT_HTTP_RETRY_H

#include "config.h"
#include "http_client.h"

struct http_retry {
        const struct kl_agent_config *cfg; /* the exponential_backoff_* options */
        int stop_fd;                       /* signalfd of the stop signals; -1 = none */
        const char *peer;                  /* "registrar", "verifier": for log lines */
};

/*
 * kl_http_request_with under the policy. 0 with ret filled (the last answer,
 * which may still be a transient status once the retries are spent), a
 * transport error after the last retry, or KL_ERR_CANCELED when stopped.
 */
int http_retry_request(const struct http_retry *rt, const char *method, const char *url,
                       const char *body, const struct kl_http_request_opts *opts,
                       const struct kl_http_tls *tls, long timeout_ms,
                       struct kl_http_response *ret);

#endif
