/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which verified revocation events the agent acts on (proto-docs/revocation.md
 * §5): a signature proves the verifier wrote a notice, not that it is meant
 * for this agent now. An event is admitted once, for this agent's UUID, and
 * only while its event_time is recent. Owns the memory of events already
 * handled; one thread (the revocation worker) uses it, so there is no lock.
 */
#ifndef AGENT_REVOCATION_REPLAY_H
#define AGENT_REVOCATION_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "crypto.h"
#include "json.h"

/*
 * The window around the agent's clock an event_time must fall in: notices
 * reach agents within seconds (REST fan-out: 10 s per request), so ten
 * minutes of age leaves room for queues and slow actions, and two minutes
 * ahead for clock skew. Upstream's event_time (Python asctime) carries no
 * time zone: it is read as the agent's local time, so verifier and agent
 * must share one (UTC on servers).
 */
#define REVOCATION_MAX_AGE_S   600
#define REVOCATION_MAX_AHEAD_S 120
/*
 * Events remembered. Only notices signed by the verifier get here, at most
 * one per failed attestation, so 256 cover the window; when full the oldest
 * is forgotten.
 */
#define REVOCATION_SEEN_MAX 256

struct revocation_seen {
        uint8_t id[REVOCATION_SEEN_MAX][KL_SHA256_LEN];
        size_t n;    /* used entries */
        size_t next; /* the slot written next once full (the oldest) */
};

/*
 * Admits the verified event ev for agent agent_id at time now: 0 and the
 * event is remembered; otherwise a reason goes into why and the result is
 * KL_ERR_INVAL (no or another agent_id, no or unreadable event_time or
 * event_id, a time outside the window) or KL_ERR_EXISTS (already handled).
 * An event is named by its event_id and event_time together: upstream's
 * event_id names the kind of failure ("pcr_validation.invalid_pcr_23"), so
 * the same id comes back for the next failure of that kind.
 */
int revocation_admit(struct revocation_seen *seen, const kl_json *ev, const char *agent_id,
                     time_t now, char *why, size_t why_len);

/* Python's time.asctime() text ("Tue Mar  3 14:02:11 2026") as local time. */
int revocation_parse_asctime(const char *s, time_t *ret);

#endif
